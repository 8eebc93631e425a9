/**
 * Shelly Gen2/Plus (Plus H&T, H&T Gen3...): `<id>/events/rpc` carries JSON-RPC
 * notifications. `NotifyStatus` and `NotifyFullStatus` are read: `temperature:N.tC`,
 * `humidity:N.rh`, `devicepower:N.battery.percent` and `.V`, `illuminance:N.lux`; `src`
 * is the device id (component N other than 0, as the add-on's DS18B20s at 100..104,
 * becomes `<src>-<N>`), `params.ts` the time in epoch seconds. Other methods
 * (`NotifyEvent`) and statuses without a sensor component (a switch) are skipped.
 */
import { type Preset, record, refuse, SampleList, SKIP } from './preset.js'

const READ = new Set(['NotifyStatus', 'NotifyFullStatus'])

export const shellyGen2: Preset = {
  name: 'shelly-gen2',
  summary: 'Shelly Gen2/Plus JSON-RPC notifications on <id>/events/rpc',
  pattern: '+/events/rpc',
  format: 'json',
  deviceFromPayload: true,
  decode(_topic, payload) {
    const obj = payload as Record<string, unknown>
    if (typeof obj.method === 'string' && !READ.has(obj.method)) return SKIP
    const src = obj.src
    if (typeof src !== 'string' || src === '')
      return refuse('missing-field', 'src', 'no "src" string naming the device')
    const params = record(obj.params)
    if (params === undefined)
      return refuse('missing-field', 'params', 'no "params" object with the status')
    const out = new SampleList()
    let components = 0
    for (const key in params) {
      const colon = key.indexOf(':')
      if (colon < 0) continue
      const kind = key.slice(0, colon)
      const n = key.slice(colon + 1)
      const c = record(params[key])
      if (c === undefined) continue
      const device = n === '0' ? src : `${src}-${n}`
      const at = `params.${key}`
      if (kind === 'temperature') {
        components++
        if (c.tC !== undefined) out.take(device, 'temperature', `${at}.tC`, c.tC, 'C')
        else out.take(device, 'temperature', `${at}.tF`, c.tF ?? null, 'F')
        if (c.tC === undefined && c.tF === undefined)
          return refuse('missing-field', `${at}.tC`, `${at} has neither tC nor tF`)
      } else if (kind === 'humidity') {
        components++
        if (c.rh === undefined) return refuse('missing-field', `${at}.rh`, `${at} has no rh`)
        out.take(device, 'humidity', `${at}.rh`, c.rh, '%')
      } else if (kind === 'devicepower') {
        const battery = record(c.battery)
        if (battery === undefined) continue
        components++
        out.take(device, 'battery', `${at}.battery.percent`, battery.percent, '%')
        out.take(device, 'voltage', `${at}.battery.V`, battery.V, 'V')
      } else if (kind === 'illuminance') {
        components++
        out.take(device, 'illuminance', `${at}.lux`, c.lux, 'lx')
      }
    }
    if (components === 0) return SKIP
    return out.outcome(
      params.ts === undefined ? undefined : { field: 'params.ts', value: params.ts, local: false },
    )
  },
}
