// The 12 shapes of the 2D Sprites dataset (after the SVQ paper, §5). Every shape is an inside-test on the
// square [-1, 1]² (u to the right, v downwards) that reaches all four sides, so an object's bounding box is
// its drawing box and a parser can fit templates to a component's bounding box.
// Chosen to stay apart when small: rendered at 14–20 px and thresholded, no two shapes overlap by more than
// IoU 0.83 (circle–pentagon). A hexagon was dropped for the hourglass: it overlapped the circle at IoU 0.90.

import Foundation

/// A sprite shape. The raw value is the shape's index in the dataset (and in the ground truth).
public enum SpriteShape: Int, CaseIterable, Codable, Sendable {
    case square, circle, triangle, diamond, plus, cross, star, hourglass, pentagon, heart, ring, semicircle

    public var name: String { String(describing: self) }

    /// Whether the point (u, v) of the drawing box [-1, 1]² is inside the shape.
    public func contains(_ u: Double, _ v: Double) -> Bool {
        let (au, av) = (abs(u), abs(v))
        guard au <= 1, av <= 1 else { return false }
        switch self {
        case .square: return true
        case .circle: return u * u + v * v <= 1
        case .triangle: return au <= (v + 1) / 2                      // apex up, base along the bottom
        case .diamond: return au + av <= 1
        case .plus: return au <= 0.3 || av <= 0.3                      // arms 0.6 wide
        case .cross: return abs(u - v) <= 0.32 || abs(u + v) <= 0.32   // diagonal bars corner to corner
        case .star: return ShapePolygons.star.contains(u, v)
        case .hourglass: return au <= av                               // two triangles meeting at the centre
        case .pentagon: return ShapePolygons.pentagon.contains(u, v)
        case .heart:
            // Two lobes (radius ½, touching top and sides) over a triangle pointing down to the bottom centre.
            let lobe = (au - 0.5) * (au - 0.5) + (v + 0.5) * (v + 0.5) <= 0.25
            return lobe || (v >= -0.5 && au <= (1 - v) / 1.5)
        case .ring:
            let r2 = u * u + v * v
            return r2 <= 1 && r2 >= 0.55 * 0.55
        case .semicircle: return u * u + (v - 1) * (v - 1) / 4 <= 1     // a dome: flat side down, stretched to the box
        }
    }

    /// Fraction of each pixel of a `size`×`size` drawing box inside the shape (4×4 samples per pixel),
    /// row-major. Renderer and parser share it, so a parsed template matches a drawn object exactly.
    public func coverage(size: Int) -> [Float] {
        let samples = 4
        var out = [Float](repeating: 0, count: size * size)
        let n = size * samples
        // Sample k of n sits at (2k + 1 − n) / n: an integer numerator keeps mirror-image samples exactly
        // symmetric, so symmetric shapes render symmetrically.
        func coordinate(_ k: Int) -> Double { Double(2 * k + 1 - n) / Double(n) }
        for py in 0..<size {
            for px in 0..<size {
                var inside = 0
                for sy in 0..<samples {
                    let v = coordinate(py * samples + sy)
                    for sx in 0..<samples where contains(coordinate(px * samples + sx), v) { inside += 1 }
                }
                out[py * size + px] = Float(inside) / Float(samples * samples)
            }
        }
        return out
    }
}

/// Polygon shapes, with vertices rescaled to span [-1, 1]² exactly.
enum ShapePolygons {
    /// A 5-point star, apex up; inner radius 0.46 of the outer (a regular star's is 0.38): thicker arms keep
    /// the points visible at 14 px and under blur.
    static let star = Polygon.filling(vertices: (0..<10).map { k in
        let radius = k % 2 == 0 ? 1.0 : 0.46
        let angle = -Double.pi / 2 + Double(k) * Double.pi / 5
        return (radius * cos(angle), radius * sin(angle))
    })

    /// A regular pentagon, apex up.
    static let pentagon = Polygon.filling(vertices: (0..<5).map { k in
        let angle = -Double.pi / 2 + Double(k) * 2 * Double.pi / 5
        return (cos(angle), sin(angle))
    })
}

/// A simple polygon with an even–odd inside test.
struct Polygon: Sendable {
    let vertices: [(Double, Double)]

    /// The polygon scaled and shifted, per axis, so its bounding box is [-1, 1]².
    static func filling(vertices: [(Double, Double)]) -> Polygon {
        let xs = vertices.map(\.0), ys = vertices.map(\.1)
        let (x0, x1, y0, y1) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        return Polygon(vertices: vertices.map { (2 * ($0.0 - x0) / (x1 - x0) - 1, 2 * ($0.1 - y0) / (y1 - y0) - 1) })
    }

    func contains(_ x: Double, _ y: Double) -> Bool {
        var inside = false
        var j = vertices.count - 1
        for i in vertices.indices {
            let (xi, yi) = vertices[i], (xj, yj) = vertices[j]
            if (yi > y) != (yj > y), x < (xj - xi) * (y - yi) / (yj - yi) + xi { inside.toggle() }
            j = i
        }
        return inside
    }
}
