// CRC16/XMODEM slot vectors from the Redis Cluster specification, including the {hash tag} edge cases.
import Testing
@testable import Keyspace

@Suite("HashSlot")
struct HashSlotTests {
    @Test("slot of a key", arguments: [
        ("123456789", 12739), ("foo", 12182), ("{user}:1", 5474), ("foo{}{bar}", 8363),
        ("foo{{bar}}zap", 4015), ("{}foo", 9500), ("foo{bar}{zap}", 5061), ("", 0),
    ])
    func slot(key: String, expected: Int) {
        #expect(HashSlot(key: Bytes(key)).index == expected)
    }

    @Test("CRC16/XMODEM check value")
    func crc() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
    }

    @Test("keys sharing a hash tag share a slot")
    func tags() {
        #expect(HashSlot(key: Bytes("{user1000}.following")) == HashSlot(key: Bytes("{user1000}.followers")))
        #expect(HashSlot(key: Bytes("foo{bar}{zap}")) == HashSlot(key: Bytes("bar")))
        #expect(HashSlot(key: Bytes("foo{{bar}}zap")) == HashSlot(key: Bytes("{bar")))
    }

    @Test("raw-buffer and byte-array initialisers agree")
    func rawBuffer() {
        let key: [UInt8] = Array("{user}:42".utf8)
        let viaRaw = key.withUnsafeBytes { HashSlot(key: $0) }
        #expect(viaRaw == HashSlot(key: Bytes(key)))
        #expect(viaRaw.index == 5474)
    }
}

@Suite("CRC16 eight- and two-byte steps")
struct CRC16StepTests {
    @Test("the pointer path equals the byte-at-a-time reference for every length 0...40")
    func pointerPathMatchesReference() {
        var rng = SystemRandomNumberGenerator()
        for length in 0...40 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let fast = bytes.withUnsafeBufferPointer { HashSlot.crc16(pointer: $0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: length) }
                #expect(fast == HashSlot.crc16(bytes), "length \(length)")
            }
        }
    }
}
