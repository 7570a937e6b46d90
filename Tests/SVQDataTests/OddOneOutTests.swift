import SVQData
import XCTest

final class OddOneOutTests: XCTestCase {
    func testPositiveCases() {
        // Shapes {2,1}, colours {3}: shape 5 is odd, on object 2.
        XCTAssertEqual(OddOneOut.answer(shapes: [1, 1, 5], colours: [0, 0, 0]),
                       OddOneOutAnswer(property: .shape, value: 5, object: 2))
        // Four objects, colours {3,1}, shapes {2,2}.
        XCTAssertEqual(OddOneOut.answer(shapes: [0, 3, 3, 0], colours: [6, 2, 6, 6]),
                       OddOneOutAnswer(property: .colour, value: 2, object: 1))
        // Four objects, shapes {3,1}, colours {4}.
        XCTAssertTrue(OddOneOut.holds(shapes: [7, 9, 9, 9], colours: [4, 4, 4, 4]))
        // Five objects, shapes {2,2,1}, colours {3,2}.
        XCTAssertTrue(OddOneOut.holds(shapes: [1, 2, 1, 2, 3], colours: [0, 0, 0, 5, 5]))
    }

    func testNegativeCases() {
        XCTAssertFalse(OddOneOut.holds(shapes: [1, 1, 1], colours: [2, 2, 2]), "nothing is unique")
        XCTAssertFalse(OddOneOut.holds(shapes: [1, 1, 2], colours: [3, 4, 4]), "a unique shape and a unique colour")
        XCTAssertFalse(OddOneOut.holds(shapes: [1, 2, 3], colours: [0, 0, 0]), "three unique shapes")
        XCTAssertFalse(OddOneOut.holds(shapes: [0, 0, 1, 2], colours: [5, 5, 5, 5]), "shapes {2,1,1}")
        XCTAssertFalse(OddOneOut.holds(shapes: [0, 0, 0, 0], colours: [1, 1, 1, 1]))
        XCTAssertFalse(OddOneOut.holds(shapes: [4], colours: [4]), "one object: a unique shape and a unique colour")
        XCTAssertFalse(OddOneOut.holds(shapes: [], colours: []))
    }
}
