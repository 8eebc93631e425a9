import { join } from 'node:path'
import type { DeadLetter, Reading } from '../../src/gateway/reading.js'
import { openStore, type Store, type StoreOptions } from '../../src/store/index.js'
import type { OutboxEntry, StoreItem } from '../../src/store/types.js'
import { tempDir } from '../helpers/tmp.js'

export const T0 = 1_764_000_000_000

export function reading(
  device: string,
  ts: number,
  value = 21.5,
  metric: Reading['metric'] = 'temperature',
): Reading {
  return { device, metric, value, ts, receivedAt: ts + 3, tsFromReceive: false }
}

export function deadLetter(payload: Buffer, receivedAt = T0): DeadLetter {
  return {
    topic: 'sensors/x/telemetry',
    payload,
    reason: 'not-json',
    detail: 'payload is not JSON',
    device: 'x',
    receivedAt,
  }
}

/** A store on a fresh file in a temp folder; `cleanup` closes it and removes the folder. */
export function tempStore(opts: Partial<StoreOptions> = {}): {
  store: Store
  file: string
  dir: string
  cleanup: () => void
} {
  const { dir, cleanup } = tempDir('floxgate-store-')
  const file = join(dir, 'floxgate.db')
  const store = openStore({ file, ...opts })
  return {
    store,
    file,
    dir,
    cleanup: () => {
      store.close()
      cleanup()
    },
  }
}

/** Writes and resolves with the callback's error (null when durable). */
export function writeAndWait(
  store: Store,
  item: Parameters<Store['write']>[0],
): Promise<Error | null> {
  return new Promise((resolve) => store.write(item, resolve))
}

/** One reading as the store's write unit (a message's `readings` item), with its uplink row. */
export function readingItem(o: {
  reading: Reading
  outbox?: readonly [OutboxEntry] | undefined
}): StoreItem {
  return { kind: 'readings', readings: [o.reading], outbox: o.outbox, at: o.reading.receivedAt }
}
