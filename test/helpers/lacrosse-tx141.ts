/**
 * Demodulated bit strings for rtl_433's `-y` option, built from the protocol description
 * in rtl_433's src/devices/lacrosse_tx141x.c, so the tests feed its real decoder:
 *
 * - TX141W: 65 bits, `PRE5b ID19h BAT1b TEST1b CH2h TYPE4h TEMP12d HUM12d CHK8h 1x`,
 *   type 1 = temperature (offset 500, scale 0.1 °C) and humidity, CRC-8 poly 0x31 init 0
 *   over the first 7 bytes; the decoder wants the row at least twice.
 * - TX141TH-Bv2: 40 bits, `ID8 BAT1 TEST1 CH2 TEMP12 HUM8 CHK8`, the check byte a
 *   reflected LFSR digest (gen 0x31, key 0xf4) of the first 4 bytes; wanted 3 times.
 *
 * The decoder inverts the bits before reading them, so the rows are sent inverted.
 */

function crc8(bytes: readonly number[], poly: number, init: number): number {
  let c = init
  for (const b of bytes) {
    c ^= b
    for (let i = 0; i < 8; i++) c = c & 0x80 ? ((c << 1) ^ poly) & 0xff : (c << 1) & 0xff
  }
  return c
}

function lfsrDigest8Reflect(bytes: readonly number[], gen: number, key: number): number {
  let sum = 0
  let k = key
  for (let byte = bytes.length - 1; byte >= 0; byte--) {
    const data = bytes[byte]!
    for (let i = 0; i < 8; i++) {
      if ((data >> i) & 1) sum ^= k
      k = k & 0x80 ? ((k << 1) ^ gen) & 0xff : (k << 1) & 0xff
    }
  }
  return sum
}

const hex = (bytes: readonly number[]) =>
  bytes.map((b) => (b ^ 0xff).toString(16).padStart(2, '0')).join('')

export interface Tx141Reading {
  readonly id: number
  readonly channel: number
  readonly celsius: number
  readonly humidity: number
  readonly batteryLow?: boolean
}

/** The `-y` code of one TX141W temperature/humidity packet (sent twice). */
export function tx141wCode(r: Tx141Reading): string {
  const raw = Math.round(r.celsius * 10) + 500
  const b = [
    (0x01 << 3) | ((r.id >> 16) & 0x07),
    (r.id >> 8) & 0xff,
    r.id & 0xff,
    ((r.batteryLow ? 1 : 0) << 7) | ((r.channel & 3) << 4) | 0x01,
    raw >> 4,
    ((raw & 0x0f) << 4) | ((r.humidity >> 8) & 0x0f),
    r.humidity & 0xff,
  ]
  b.push(crc8(b, 0x31, 0x00))
  // 65th bit: a trailing 0 before inversion.
  const row = `{65}${hex(b)}8`
  return row + row
}

/** The `-y` code of one TX141TH-Bv2 packet (sent three times). */
export function tx141thCode(r: Tx141Reading): string {
  const raw = Math.round(r.celsius * 10) + 500
  const b = [
    r.id & 0xff,
    ((r.batteryLow ? 1 : 0) << 7) | ((r.channel & 3) << 4) | (raw >> 8),
    raw & 0xff,
    r.humidity,
  ]
  b.push(lfsrDigest8Reflect(b, 0x31, 0xf4))
  const row = `{40}${hex(b)}`
  return row + row + row
}
