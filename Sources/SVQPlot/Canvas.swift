// The drawing surface every figure is drawn on: a cairo image surface with the few primitives the figures
// need (rectangles, polylines, text, pasted images), read back as an RGBImage so that PNG files are written
// by the project's one PNG writer. Cairo reports failures by status, never by longjmp or abort, and the
// status is checked where a surface is made and where its pixels are read.

import CCairo
import Foundation
import SVQData

/// Why a figure could not be made.
public struct PlotError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An sRGB colour with components in [0, 1].
public struct Colour: Equatable, Sendable {
    public var red: Double, green: Double, blue: Double

    public init(_ red: Double, _ green: Double, _ blue: Double) { (self.red, self.green, self.blue) = (red, green, blue) }

    /// From 0xRRGGBB.
    public init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xFF) / 255, Double((hex >> 8) & 0xFF) / 255, Double(hex & 0xFF) / 255)
    }

    public static let white = Colour(1, 1, 1), black = Colour(0, 0, 0)
    public static let grey = Colour(0.5, 0.5, 0.5), lightGrey = Colour(0.88, 0.88, 0.88)

    /// Ten colours told apart at a glance (the "tab10" set of many plotting tools), for curves and slots.
    public static let categorical: [Colour] = [0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                               0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf].map { Colour(hex: $0) }
}

/// Where a text's anchor point lies along its width.
public enum TextAnchor: Sendable { case left, centre, right }

final class Canvas {
    let width: Int
    let height: Int
    private let surface: OpaquePointer
    private let context: OpaquePointer

    /// The largest side a figure may have: far beyond any figure here, it keeps a mistaken size from
    /// asking cairo for gigabytes.
    static let maxSide = 16384

    init(width: Int, height: Int, background: Colour = .white) throws {
        guard (1...Self.maxSide).contains(width), (1...Self.maxSide).contains(height) else {
            throw PlotError("a figure of \(width)×\(height) pixels is outside 1...\(Self.maxSide) per side")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw PlotError("cairo could not make a \(width)×\(height) surface")
        }
        let context = cairo_create(surface)!
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_destroy(context)
            cairo_surface_destroy(surface)
            throw PlotError("cairo could not make a \(width)×\(height) surface: \(String(cString: cairo_status_to_string(status)))")
        }
        (self.width, self.height, self.surface, self.context) = (width, height, surface, context)
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        fill(x: 0, y: 0, width: Double(width), height: Double(height), colour: background)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    private func setColour(_ c: Colour) { cairo_set_source_rgb(context, c.red, c.green, c.blue) }

    func fill(x: Double, y: Double, width: Double, height: Double, colour: Colour) {
        setColour(colour)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    func stroke(x: Double, y: Double, width: Double, height: Double, colour: Colour, lineWidth: Double = 1) {
        setColour(colour)
        cairo_set_line_width(context, lineWidth)
        // Half-pixel offsets put a 1-pixel line on one pixel row instead of blurring it over two.
        cairo_rectangle(context, x + 0.5, y + 0.5, width - 1, height - 1)
        cairo_stroke(context)
    }

    /// A polyline through `points`; a non-finite point breaks the line.
    func line(_ points: [(x: Double, y: Double)], colour: Colour, lineWidth: Double = 1.5) {
        setColour(colour)
        cairo_set_line_width(context, lineWidth)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        var drawing = false
        for p in points {
            guard p.x.isFinite, p.y.isFinite else { drawing = false; continue }
            if drawing { cairo_line_to(context, p.x, p.y) } else { cairo_move_to(context, p.x, p.y); drawing = true }
        }
        cairo_stroke(context)
    }

    /// The advance width of `text` at `size` px.
    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// `text` with its baseline at `y`, anchored at `x`; `vertical` turns it to read bottom to top.
    func text(_ text: String, x: Double, y: Double, size: Double = 12, colour: Colour = .black,
              anchor: TextAnchor = .left, bold: Bool = false, vertical: Bool = false) {
        let w = textWidth(text, size: size, bold: bold)
        let shift = anchor == .left ? 0 : anchor == .centre ? -w / 2 : -w
        setColour(colour)
        cairo_save(context)
        cairo_translate(context, x, y)
        if vertical { cairo_rotate(context, -Double.pi / 2) }
        cairo_move_to(context, shift, 0)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    /// `image` with its top-left corner at (`x`, `y`), each pixel drawn as a `scale`×`scale` block.
    func draw(_ image: RGBImage, x: Int, y: Int, scale: Int = 1) {
        cairo_surface_flush(surface)
        let data = cairo_image_surface_get_data(surface)!
        let stride = Int(cairo_image_surface_get_stride(surface))
        for row in 0..<(image.height * scale) where y + row >= 0 && y + row < height {
            let line = data + (y + row) * stride
            for column in 0..<(image.width * scale) where x + column >= 0 && x + column < width {
                let (r, g, b) = image.pixel(x: column / scale, y: row / scale)
                // RGB24 is one native-endian 32-bit word per pixel: 0x00RRGGBB.
                let word = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
                (line + 4 * (x + column)).withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee = word }
            }
        }
        cairo_surface_mark_dirty(surface)
    }

    /// What has been drawn, as an 8-bit RGB image.
    func image() throws -> RGBImage {
        cairo_surface_flush(surface)
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PlotError("cairo failed while drawing: \(String(cString: cairo_status_to_string(status)))")
        }
        let data = cairo_image_surface_get_data(surface)!
        let stride = Int(cairo_image_surface_get_stride(surface))
        var pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for row in 0..<height {
            let line = UnsafeRawPointer(data + row * stride)
            for column in 0..<width {
                let word = line.load(fromByteOffset: 4 * column, as: UInt32.self)
                let i = 3 * (row * width + column)
                pixels[i] = UInt8((word >> 16) & 0xFF)
                pixels[i + 1] = UInt8((word >> 8) & 0xFF)
                pixels[i + 2] = UInt8(word & 0xFF)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
