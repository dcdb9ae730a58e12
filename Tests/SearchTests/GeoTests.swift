// GEO fields: geohashes and distances equal Redis's (GEOADD scores, GEOPOS, GEODIST), value parsing and radius filters.
import Testing
@testable import Search

@Suite("Geo")
struct GeoTests {
    @Test("encode gives Redis's GEOADD scores, decode its GEOPOS, distance its GEODIST")
    func redisVectors() throws {
        // Read off Redis 7.4: GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania, ZSCORE, GEOPOS.
        #expect(GeoHash.encode(longitude: 13.361389, latitude: 38.115556) == 3479099956230698)
        #expect(GeoHash.encode(longitude: 15.087269, latitude: 37.502669) == 3479447370796909)
        #expect(GeoHash.encode(longitude: -180, latitude: -85.05112878) == 0)
        #expect(GeoHash.encode(longitude: 180, latitude: 85.05112878) == 13510798882111488)
        let palermo = GeoHash.decode(3479099956230698)
        #expect(palermo.longitude == 13.36138933897018433 && palermo.latitude == 38.11555639549629859)
        let top = GeoHash.decode(13510798882111488)
        #expect(top.longitude == 180 && top.latitude == 85.05112878)
        let catania = GeoHash.decode(3479447370796909)
        let d = GeoHash.distance(palermo.longitude, palermo.latitude, catania.longitude, catania.latitude)
        #expect(abs(d - 166274.1516) < 0.00005)  // GEODIST prints four decimals
    }

    @Test("points past Redis's bounds have no geohash")
    func bounds() {
        for (lon, lat) in [(10.0, 95.0), (200.0, 10.0), (-180.0001, 0.0), (0.0, 85.05112879), (0.0, -85.06)] {
            #expect(GeoHash.encode(longitude: lon, latitude: lat) == nil)
        }
        #expect(GeoHash.encode(longitude: .nan, latitude: 1) != nil)  // RediSearch accepts it (C's comparisons are false)
    }

    @Test("values: the first space or comma splits; each side is read whole by strtod; RediSearch's error texts")
    func parsing() {
        func value(_ s: String) -> String {
            switch GeoHash.indexValue(Array(s.utf8)) {
            case .success(let h): return "\(GeoHash.decode(h).longitude.rounded()),\(GeoHash.decode(h).latitude.rounded())"
            case .failure(let e): return e.message
            }
        }
        #expect(value("1,2") == "1.0,2.0")
        #expect(value("1 2") == "1.0,2.0")
        #expect(value("1, 2") == "1.0,2.0")  // strtod skips the leading space of the second part
        #expect(value("1e1,2") == "10.0,2.0")
        #expect(value(" 1,2") == "Invalid geo string")  // the space splits first: "" then "1,2"
        #expect(value("1,2 ") == "Invalid geo string")
        #expect(value("1,2x") == "Invalid geo string")
        #expect(value("bad") == "Invalid geo string")
        #expect(value("") == "Invalid geo string")
        #expect(value("10,95") == "Invalid geo coordinates: 10.000000, 95.000000")
        #expect(value("200,10") == "Invalid geo coordinates: 200.000000, 10.000000")
        #expect(value(String(repeating: "1", count: 127) + ",1") == "Geo string cannot be longer than 128 bytes")
    }

    @Test("a radius filter keeps points whose cell center is within the radius, in each unit")
    func radius() throws {
        let paris = try #require(GeoHash.encode(longitude: 2.35, latitude: 48.85))
        let eiffel = try #require(GeoHash.encode(longitude: 2.2945, latitude: 48.8584))
        let london = try #require(GeoHash.encode(longitude: -0.12, latitude: 51.5))
        let within = { (r: Double, u: GeoUnit) in
            GeoFilter(field: "loc", longitude: 2.35, latitude: 48.85, radius: r, unit: u).test()
        }
        #expect(within(5, .kilometers)(eiffel) && !within(3, .kilometers)(eiffel))
        #expect(within(5000, .meters)(eiffel) && within(3, .miles)(eiffel) && !within(10000, .feet)(eiffel))
        #expect(within(1, .meters)(paris) && !within(300, .kilometers)(london) && within(350, .kilometers)(london))
        #expect(!within(1000, .kilometers)(.nan))  // no value
        // A center RediSearch cannot search around matches nothing; validate() refuses only what RediSearch refuses.
        let north = GeoFilter(field: "loc", longitude: 0, latitude: 88, radius: 1000, unit: .kilometers)
        #expect(!north.test()(paris))
        #expect(throws: QueryError("Invalid GeoFilter radius")) {
            try GeoFilter(field: "loc", longitude: 0, latitude: 0, radius: 0, unit: .meters).validate()
        }
        #expect(throws: QueryError("Invalid GeoFilter lat/lon")) {
            try GeoFilter(field: "loc", longitude: 0, latitude: 91, radius: 1, unit: .meters).validate()
        }
        #expect(GeoUnit(name: "KM") == .kilometers && GeoUnit(name: "parsec") == nil)
    }

    @Test("FILTER and GEOFILTER lead the query's intersection; INFIELDS narrows text clauses")
    func globalFilters() throws {
        func scope(_ filters: [GlobalFilter], fields: [String]? = nil) -> QueryScope {
            var s = QueryScope()
            s.filters = filters
            s.textFields = fields
            return s
        }
        var q = try QueryParser.parse(Array("hello world".utf8), params: [:], stopwords: nil)
        try q.apply(scope([try .numeric(field: "n", min: Array("(1".utf8), max: Array("+inf".utf8))]))
        #expect(q.filter == .intersection([.numericRange(field: "n", min: 1, minExclusive: true, max: .infinity, maxExclusive: false),
                                           .term(fields: nil, text: "hello"), .term(fields: nil, text: "world")]))
        var knn = try QueryParser.parse(Array("*=>[KNN 2 @v $B]".utf8), params: ["B": [0, 0, 0, 0]], stopwords: nil)
        let geo = GeoFilter(field: "loc", longitude: 1, latitude: 2, radius: 3, unit: .kilometers)
        try knn.apply(scope([.geo(geo)]))
        #expect(knn.filter == .geo(geo) && knn.knn?.k == 2)
        var empty = try QueryParser.parse([], params: [:], stopwords: nil)
        try empty.apply(scope([.geo(geo)]))
        #expect(empty.filter == .union([]))
        #expect(throws: QueryError("Bad lower range: x")) { try GlobalFilter.numeric(field: "n", min: Array("x".utf8), max: [49]) }
        #expect(throws: QueryError("Bad upper range: -inf")) { try GlobalFilter.numeric(field: "n", min: [49], max: Array("-inf".utf8)) }
        var fields = try QueryParser.parse(Array("hello @t:world".utf8), params: [:], stopwords: nil)
        try fields.apply(scope([], fields: ["b"]))
        #expect(fields.filter == .intersection([.term(fields: ["b"], text: "hello"), .term(fields: [], text: "world")]))
    }
}

@Suite("NumericTreeShape")
struct NumericTreeShapeTests {
    @Test("the root splits once two distinct values are sampled; ranges cover every value a filter can match")
    func splitsAndCovers() {
        let tree = NumericTreeShape()
        for _ in 0..<15 { tree.add(5) }
        #expect(tree.rangeSizes(0, 10) == [15])  // one leaf: a plain numeric iterator
        for v in 0..<5000 { tree.add(Double(v % 101)) }
        let all = tree.rangeSizes(-.infinity, .infinity)
        #expect(all.count > 1 && all.reduce(0, +) == 5015)  // several leaves: a union
        #expect(tree.rangeSizes(7, 7).count == 1)
        // Every value in [lo, hi] lies in a returned range: the sizes add up to at least the matches.
        for (lo, hi) in [(0.0, 50.0), (10, 20), (99, 100), (-5, 0), (33.5, 33.7)] {
            let matches = (0..<5000).filter { Double($0 % 101) >= lo && Double($0 % 101) <= hi }.count
            #expect(tree.rangeSizes(lo, hi).reduce(0, +) >= matches)
        }
        #expect(tree.rangeSizes(200, 300).isEmpty)
    }

    @Test("a radius's geohash cell ranges hold every point within it")
    func cellsCoverTheRadius() throws {
        var rng = SystemRandomNumberGenerator()
        for (lon, lat, km) in [(2.35, 48.85, 10.0), (2.35, 48.85, 500), (-179.9, 0.5, 50), (139.7, 35.7, 2000), (0, 70, 300)] {
            let filter = GeoFilter(field: "loc", longitude: lon, latitude: lat, radius: km, unit: .kilometers)
            let ranges = filter.cellRanges()
            #expect(!ranges.isEmpty && ranges.count <= 9)
            let test = filter.test()
            for _ in 0..<2000 {
                let p = (lon + Double.random(in: -30...30, using: &rng), lat + Double.random(in: -20...20, using: &rng))
                guard let hash = GeoHash.encode(longitude: max(-180, min(180, p.0)), latitude: max(-85, min(85, p.1))),
                      test(hash) else { continue }
                #expect(ranges.contains { hash >= $0.min && hash < $0.max }, "\(p) within \(km) km of \(lon),\(lat)")
            }
        }
    }
}
