// GEO fields: Redis's 52-bit geohash of "lon,lat" values, the haversine distance, radius filters and their units.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// RediSearch indexes a GEO value as Redis's GEOADD score (a 26-step interleaved geohash) and measures a radius from
/// the center of the hash's cell, not from the point given: both are reproduced so the same points fall inside.
public enum GeoHash {
    static let steps = 26
    static let latitudeLimit = 85.05112878
    static let longitudeLimit = 180.0
    /// Redis's geohash_helper.c constant (not the WGS84 mean radius): distances must agree to the last digit.
    static let earthRadiusMeters = 6372797.560856

    /// The geohash of a point, or nil outside Redis's bounds (latitudes past ±85.05112878).
    public static func encode(longitude: Double, latitude: Double) -> Double? {
        guard inBounds(longitude: longitude, latitude: latitude) else { return nil }
        return Double(encode(longitude: longitude, latitude: latitude, step: steps).bits)
    }

    /// Inside Redis's GEOADD bounds (NaN passes, as C's comparisons are false for it).
    static func inBounds(longitude: Double, latitude: Double) -> Bool {
        !(longitude > longitudeLimit || longitude < -longitudeLimit || latitude > latitudeLimit || latitude < -latitudeLimit)
    }

    /// The center of the hash's cell, clamped to the bounds (geohashDecodeAreaToLongLat).
    public static func decode(_ hash: Double) -> (longitude: Double, latitude: Double) {
        let bits = hash.isNaN || hash < 0 ? 0 : hash >= 0x1p64 ? UInt64.max : UInt64(hash)
        let a = area(Cell(bits: bits, step: steps))
        let longitude = min(max((a.lonMin + a.lonMax) / 2, -longitudeLimit), longitudeLimit)
        let latitude = min(max((a.latMin + a.latMax) / 2, -latitudeLimit), latitudeLimit)
        return (longitude, latitude)
    }

    /// The latitude cell of a hash (its even bits, squeezed together).
    @inline(__always) static func evenBits(_ bits: UInt64) -> UInt32 {
        var x = bits & 0x5555_5555_5555_5555
        x = (x | (x >> 1)) & 0x3333_3333_3333_3333
        x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF
        x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF
        return UInt32(truncatingIfNeeded: x)
    }

    /// A geohash cell: `step` bits of each coordinate, interleaved.
    struct Cell { var bits: UInt64; var step: Int }

    static func encode(longitude: Double, latitude: Double, step: Int) -> Cell {
        let scale = Double(UInt64(1) << step)
        let latOffset = (latitude + latitudeLimit) / (2 * latitudeLimit) * scale
        let lonOffset = (longitude + longitudeLimit) / (2 * longitudeLimit) * scale
        return Cell(bits: interleave(cTruncatedUInt32(latOffset), cTruncatedUInt32(lonOffset)), step: step)
    }

    /// The cell's bounds (geohashDecode).
    static func area(_ c: Cell) -> (lonMin: Double, lonMax: Double, latMin: Double, latMax: Double) {
        let (lat, lon) = deinterleave(c.bits)
        let scale = Double(UInt64(1) << c.step)
        return (-longitudeLimit + Double(lon) / scale * 2 * longitudeLimit, -longitudeLimit + (Double(lon) + 1) / scale * 2 * longitudeLimit,
                -latitudeLimit + Double(lat) / scale * 2 * latitudeLimit, -latitudeLimit + (Double(lat) + 1) / scale * 2 * latitudeLimit)
    }

    /// geohash_move_x / geohash_move_y: the neighboring cell (longitude bits are the odd ones).
    static func moved(_ c: Cell, x dx: Int, y dy: Int) -> Cell {
        var bits = c.bits
        let width = UInt64(64 - c.step * 2)
        func move(_ value: UInt64, mask: UInt64, by d: Int) -> UInt64 {
            var v = value & mask
            let other = value & ~mask
            let zz = (~mask) >> width
            if d > 0 { v = v &+ (zz &+ 1) } else { v = (v | zz) &- (zz &+ 1) }
            v &= mask >> width
            return v | other
        }
        if dx != 0 { bits = move(bits, mask: 0xAAAA_AAAA_AAAA_AAAA, by: dx) }
        if dy != 0 { bits = move(bits, mask: 0x5555_5555_5555_5555, by: dy) }
        return Cell(bits: bits, step: c.step)
    }

    /// geohashEstimateStepsByRadius.
    static func stepsForRadius(_ meters: Double, latitude: Double) -> Int {
        if meters == 0 { return steps }
        var range = meters, step = 1
        while range < 20037726.37 { range *= 2; step += 1 }
        step -= 2
        if latitude > 66 || latitude < -66 {
            step -= 1
            if latitude > 80 || latitude < -80 { step -= 1 }
        }
        return min(max(step, 1), steps)
    }

    /// geohashGetAreasByRadius: the center cell, then north, south, east, west, north-east, north-west, south-east,
    /// south-west; nil for a neighbor the radius cannot reach.
    static func areasByRadius(longitude: Double, latitude: Double, radiusMeters: Double) -> [Cell?] {
        let radians = Double.pi / 180
        let lonDelta = radiusMeters / earthRadiusMeters / cos(latitude * radians) / radians
        let latDelta = radiusMeters / earthRadiusMeters / radians
        let (minLon, maxLon, minLat, maxLat) = (longitude - lonDelta, longitude + lonDelta, latitude - latDelta, latitude + latDelta)
        var step = stepsForRadius(radiusMeters, latitude: latitude)
        func neighbors(_ c: Cell) -> [Cell] {
            [c, moved(c, x: 0, y: 1), moved(c, x: 0, y: -1), moved(c, x: 1, y: 0), moved(c, x: -1, y: 0),
             moved(c, x: 1, y: 1), moved(c, x: -1, y: 1), moved(c, x: 1, y: -1), moved(c, x: -1, y: -1)]
        }
        var cells = neighbors(encode(longitude: longitude, latitude: latitude, step: step))
        let north = area(cells[1]), south = area(cells[2]), east = area(cells[3]), west = area(cells[4])
        let decrease = distance(longitude, latitude, longitude, north.latMax) < radiusMeters
            || distance(longitude, latitude, longitude, south.latMin) < radiusMeters
            || distance(longitude, latitude, east.lonMax, latitude) < radiusMeters
            || distance(longitude, latitude, west.lonMin, latitude) < radiusMeters
        if step > 1 && decrease {
            step -= 1
            cells = neighbors(encode(longitude: longitude, latitude: latitude, step: step))
        }
        var result: [Cell?] = cells
        if step >= 2 {
            let a = area(cells[0])
            if a.latMin < minLat { result[2] = nil; result[8] = nil; result[7] = nil }
            if a.latMax > maxLat { result[1] = nil; result[5] = nil; result[6] = nil }
            if a.lonMin < minLon { result[4] = nil; result[8] = nil; result[6] = nil }
            if a.lonMax > maxLon { result[3] = nil; result[7] = nil; result[5] = nil }
        }
        return result
    }

    /// Great-circle distance in meters (geohashGetDistance).
    public static func distance(_ lon1: Double, _ lat1: Double, _ lon2: Double, _ lat2: Double) -> Double {
        let radians = Double.pi / 180.0
        let lat1r = lat1 * radians, lon1r = lon1 * radians, lat2r = lat2 * radians, lon2r = lon2 * radians
        let u = sin((lat2r - lat1r) / 2)
        let v = sin((lon2r - lon1r) / 2)
        return 2.0 * earthRadiusMeters * asin(sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v))
    }

    /// C's double-to-uint32_t conversion as x86-64 compiles it (through a 64-bit integer; NaN gives 0).
    static func cTruncatedUInt32(_ d: Double) -> UInt32 {
        guard d.isFinite, d > -0x1p63, d < 0x1p63 else { return 0 }
        return UInt32(truncatingIfNeeded: Int64(d))
    }

    static func interleave(_ lat: UInt32, _ lon: UInt32) -> UInt64 {
        func spread(_ v: UInt32) -> UInt64 {
            var x = UInt64(v)
            x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
            x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
            x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F
            x = (x | (x << 2)) & 0x3333_3333_3333_3333
            x = (x | (x << 1)) & 0x5555_5555_5555_5555
            return x
        }
        return spread(lat) | (spread(lon) << 1)
    }

    static func deinterleave(_ bits: UInt64) -> (lat: UInt32, lon: UInt32) {
        (evenBits(bits), evenBits(bits >> 1))
    }

    /// A GEO field's value: "lon,lat" or "lon lat" (the first space or comma splits it; each side read by strtod),
    /// with RediSearch's indexing errors.
    public static func parse(_ value: [UInt8]) -> Result<(longitude: Double, latitude: Double), QueryError> {
        if value.count > 128 { return .failure(QueryError("Geo string cannot be longer than 128 bytes")) }
        guard let split = value.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ",") }),
              let lon = strictDouble(value[..<split]), let lat = strictDouble(value[(split + 1)...]) else {
            return .failure(QueryError("Invalid geo string"))
        }
        return .success((lon, lat))
    }

    /// strtod over the whole text (an empty text is 0, as strtod leaves it), nil when anything is left over.
    static func strictDouble(_ text: ArraySlice<UInt8>) -> Double? {
        NumberParsing.wholeStrtod(text)?.0
    }

    /// The hash's value for a point, or RediSearch's error text for a GEO field's value.
    public static func indexValue(_ value: [UInt8]) -> Result<Double, QueryError> {
        switch parse(value) {
        case .failure(let e): return .failure(e)
        case .success(let p):
            guard let hash = encode(longitude: p.longitude, latitude: p.latitude) else {
                let text = QueryExplain.cFormat("%f", p.longitude) + ", " + QueryExplain.cFormat("%f", p.latitude)
                return .failure(QueryError("Invalid geo coordinates: \(text)"))
            }
            return .success(hash)
        }
    }
}

/// A radius unit of GEO filters and GEOFILTER (`m`, `km`, `mi`, `ft`, any case).
public enum GeoUnit: String, Sendable, Hashable {
    case meters = "m", kilometers = "km", miles = "mi", feet = "ft"

    public init?(name: String) {
        guard let u = GeoUnit(rawValue: name.lowercased()) else { return nil }
        self = u
    }

    public var meters: Double {
        switch self {
        case .meters: return 1
        case .kilometers: return 1000
        case .feet: return 0.3048
        case .miles: return 1609.34
        }
    }
}

/// `@field:[lon lat radius unit]` or `GEOFILTER field lon lat radius unit`.
public struct GeoFilter: Hashable, Sendable {
    public var field: String
    public var longitude: Double
    public var latitude: Double
    public var radius: Double
    public var unit: GeoUnit
    public init(field: String, longitude: Double, latitude: Double, radius: Double, unit: GeoUnit) {
        self.field = field; self.longitude = longitude; self.latitude = latitude; self.radius = radius; self.unit = unit
    }

    /// A filter as a query gives it, GeoFilter_Validate's errors included (`Invalid GeoFilter unit` first).
    public static func validated(field: String, longitude: Double, latitude: Double, radius: Double,
                                 unitName: String) throws(QueryError) -> GeoFilter {
        guard let unit = GeoUnit(name: unitName) else { throw QueryError("Invalid GeoFilter unit") }
        let filter = GeoFilter(field: field, longitude: longitude, latitude: latitude, radius: radius, unit: unit)
        try filter.validate()
        return filter
    }

    /// RediSearch's GEO iterator exists (a positive radius around a center inside Redis's bounds); otherwise the
    /// filter matches nothing and reads no ranges.
    var isSearchable: Bool { radius > 0 && GeoHash.inBounds(longitude: longitude, latitude: latitude) }

    /// GeoFilter_Validate's checks, with its texts.
    public func validate() throws(QueryError) {
        if latitude > 90 || latitude < -90 || longitude > 180 || longitude < -180 { throw QueryError("Invalid GeoFilter lat/lon") }
        if radius <= 0 { throw QueryError("Invalid GeoFilter radius") }
    }

    /// The geohash score ranges RediSearch reads for this filter (calcRanges: the cell around the center at the step
    /// the radius needs and its eight neighbors, those the radius cannot reach left out, repeats skipped), each
    /// [min, max] of 52-bit scores; none for a center or radius RediSearch cannot search around.
    public func cellRanges() -> [(min: Double, max: Double)] {
        guard isSearchable else { return [] }
        let radiusMeters = radius * unit.meters
        let cells = GeoHash.areasByRadius(longitude: longitude, latitude: latitude, radiusMeters: radiusMeters)
        var ranges: [(min: Double, max: Double)] = []
        var lastProcessed = 0
        for (i, cell) in cells.enumerated() {
            guard let cell else { continue }
            if lastProcessed != 0, let last = cells[lastProcessed], last.bits == cell.bits && last.step == cell.step { continue }
            let shift = UInt64(52 - 2 * cell.step)
            let lo = cell.bits << shift, hi = (cell.bits &+ 1) << shift
            if lo != hi { ranges.append((Double(lo), Double(hi))) }
            lastProcessed = i
        }
        return ranges
    }

    /// Whether a stored geohash lies within the radius. A center RediSearch cannot search around (past Redis's
    /// latitude bounds, or a radius that is not positive) matches nothing, as its iterator is then empty.
    public func test() -> (Double) -> Bool {
        guard isSearchable else { return { _ in false } }
        let radiusMeters = radius * unit.meters
        let lon = longitude, lat = latitude
        // A point farther in latitude alone than the radius (plus a cell) is out: most points are rejected on the
        // integer latitude bits of their hash, without decoding it or any trigonometry.
        let band = radiusMeters / GeoHash.earthRadiusMeters * 180 / Double.pi + 1e-4
        let cells = Double(UInt64(1) << GeoHash.steps) / (2 * GeoHash.latitudeLimit)
        let lowest = UInt32(clamping: Int64(max(0, ((lat - band + GeoHash.latitudeLimit) * cells).rounded(.down))))
        let highest = UInt32(clamping: Int64(min(0x1p40, ((lat + band + GeoHash.latitudeLimit) * cells).rounded(.up))))
        return { hash in
            guard hash >= 0, hash < 0x1p64 else { return false }  // NaN (no value) too
            let bits = UInt64(hash)
            let latBits = GeoHash.evenBits(bits)
            if latBits < lowest || latBits > highest { return false }
            let p = GeoHash.decode(hash)
            return GeoHash.distance(lon, lat, p.longitude, p.latitude) <= radiusMeters
        }
    }
}
