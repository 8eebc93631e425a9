// floxgate status page: plain DOM and uPlot, no framework, no build step. Every string
// from the gateway goes in through textContent (device ids are chosen by the sensors).
;(() => {
  const $ = (id) => document.getElementById(id)
  const charts = new Map() // "device\0metric" -> { u, xs, ys, valueEl, ageEl, staleEl, ts, staleMs }
  let devicesKnown = new Set()
  let rangeMs = Number($('range').value)
  let reloadTimer

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue
      if (k === 'class') e.className = v
      else e.setAttribute(k, v)
    }
    for (const c of children)
      e.append(c === undefined || c === null ? '' : c instanceof Node ? c : String(c))
    return e
  }
  const get = async (path) => {
    const r = await fetch(path, { credentials: 'same-origin' })
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`)
    return r.json()
  }
  const fmtTime = (ms) => new Date(ms).toLocaleString()
  const fmtAge = (s) =>
    s === null
      ? 'never'
      : s < 90
        ? `${s} s ago`
        : s < 5400
          ? `${Math.round(s / 60)} min ago`
          : `${Math.round(s / 3600)} h ago`
  // Unit labels come with /api/devices ("°C", "ppm", a declared metric's own label).
  const units = new Map()
  // Stored values keep the sensor's precision; two decimals are plenty to read.
  const fmtValue = (v, device, metric) =>
    `${Number(v.toFixed(2))} ${units.get(key(device, metric)) ?? ''}`.trim()
  const key = (d, m) => `${d}\u0000${m}`

  async function loadSeries(device, metric) {
    const to = Date.now() + 1000
    let from = to - rangeMs
    const xs = []
    const ys = []
    // Pages of at most 5,000 points, bounded: a week of 1 Hz data stops at 100,000.
    for (let page = 0; page < 20; page++) {
      const q = new URLSearchParams({ device, metric, from: String(from), to: String(to) })
      const r = await get(`/api/readings?${q}`)
      for (const [ts, v] of r.points) {
        xs.push(ts / 1000)
        ys.push(v)
      }
      if (r.next === null) break
      from = r.next
    }
    return [xs, ys]
  }

  function chartWidth(box) {
    return Math.max(200, box.clientWidth || 300)
  }

  async function renderDevices() {
    const devices = await get('/api/devices')
    for (const c of charts.values()) c.u.destroy()
    charts.clear()
    devicesKnown = new Set()
    const grid = el('div', { class: 'grid' })
    for (const d of devices) {
      const card = el('div', { class: 'card', 'data-device': d.id })
      card.append(
        el(
          'h3',
          {},
          el('span', { class: 'name' }, d.name),
          el(
            'span',
            { class: 'meta' },
            [d.location, d.profile].filter(Boolean).join(' · '),
            d.configured ? '' : ' · not configured',
          ),
        ),
      )
      if (d.metrics.length === 0) card.append(el('p', { class: 'muted' }, 'no readings yet'))
      for (const m of d.metrics) {
        devicesKnown.add(key(d.id, m.metric))
        if (m.unit) units.set(key(d.id, m.metric), m.unit)
        const valueEl = el(
          'span',
          { class: 'value' },
          m.value === null ? '–' : fmtValue(m.value, d.id, m.metric),
        )
        const ageEl = el('span', { class: 'meta age' }, fmtAge(m.ageSeconds))
        const staleEl = el('span', { class: 'stale' }, m.stale ? 'stale' : '')
        const box = el('div', { class: 'chart' })
        card.append(
          el(
            'div',
            { class: 'metric', 'data-metric': m.metric },
            el('div', { class: 'row' }, el('span', {}, m.metric), staleEl),
            el('div', { class: 'row' }, valueEl, ageEl),
            box,
          ),
        )
        charts.set(key(d.id, m.metric), {
          box,
          valueEl,
          ageEl,
          staleEl,
          ts: m.ts,
          staleMs: m.ageSeconds !== null && m.stale ? 0 : Infinity,
          metric: m.metric,
          device: d.id,
        })
      }
      grid.append(card)
    }
    $('devices').replaceChildren(
      devices.length === 0 ? el('p', { class: 'muted' }, 'no devices yet') : grid,
    )
    for (const c of charts.values()) {
      const [xs, ys] = await loadSeries(c.device, c.metric)
      c.xs = xs
      c.ys = ys
      c.u = new uPlot(
        {
          width: chartWidth(c.box),
          height: 120,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [{ size: 30 }, { size: 55 }],
          series: [{}, { label: c.metric, stroke: '#1565c0', width: 1.5, points: { show: false } }],
        },
        [xs, ys],
        c.box,
      )
    }
  }

  function onReadings(batch) {
    let unknown = false
    const cutoff = (Date.now() - rangeMs) / 1000
    const touched = new Set()
    for (const [device, metric, ts, value] of batch) {
      const c = charts.get(key(device, metric))
      if (c === undefined) {
        unknown = true
        continue
      }
      c.valueEl.textContent = fmtValue(value, device, metric)
      c.ts = Math.max(c.ts || 0, ts)
      c.staleEl.textContent = ''
      if (c.u !== undefined && ts / 1000 >= (c.xs[c.xs.length - 1] ?? -Infinity)) {
        c.xs.push(ts / 1000)
        c.ys.push(value)
        touched.add(c)
      }
    }
    for (const c of touched) {
      while (c.xs.length > 0 && c.xs[0] < cutoff) {
        c.xs.shift()
        c.ys.shift()
      }
      c.u.setData([c.xs, c.ys])
    }
    tickAges()
    if (unknown) scheduleReload()
  }

  function tickAges() {
    const now = Date.now()
    for (const c of charts.values()) {
      if (c.ts) c.ageEl.textContent = fmtAge(Math.round(Math.max(0, now - c.ts) / 1000))
    }
  }

  function scheduleReload() {
    clearTimeout(reloadTimer)
    reloadTimer = setTimeout(() => renderDevices().catch(showError), 500)
  }

  function alertRow(a, withState) {
    return el(
      'tr',
      {},
      el('td', {}, a.device),
      el('td', {}, a.rule, a.metric ? ` (${a.metric})` : ''),
      el('td', { class: `sev-${a.severity}` }, a.severity),
      withState ? el('td', {}, a.state) : null,
      el('td', {}, a.value ?? '–'),
      el('td', {}, a.threshold ?? '–'),
      el('td', { class: 'hide-narrow' }, fmtTime(withState ? a.ts : a.since)),
    )
  }

  async function renderAlerts() {
    const { active, history } = await get('/api/alerts')
    const head = (...h) =>
      el(
        'tr',
        {},
        ...h.map((x) => el('th', x === 'time' || x === 'since' ? { class: 'hide-narrow' } : {}, x)),
      )
    $('alerts').replaceChildren(
      active.length === 0
        ? el('p', { class: 'muted' }, 'none')
        : el(
            'table',
            {},
            head('device', 'rule', 'severity', 'value', 'threshold', 'since'),
            ...active.map((a) => alertRow(a, false)),
          ),
    )
    $('history').replaceChildren(
      history.length === 0
        ? el('p', { class: 'muted' }, 'no alerts yet')
        : el(
            'table',
            {},
            head('device', 'rule', 'severity', 'state', 'value', 'threshold', 'time'),
            ...history.slice(0, 30).map((a) => alertRow(a, true)),
          ),
    )
  }

  async function renderDeadLetters() {
    const { byReason } = await get('/api/dead-letters')
    $('dead-letters').replaceChildren(
      byReason.length === 0
        ? el('p', { class: 'muted' }, 'none: every message was valid')
        : el(
            'table',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'reason'),
              el('th', {}, 'count'),
              el('th', {}, 'latest example'),
            ),
            ...byReason.map((g) =>
              el(
                'tr',
                {},
                el('td', {}, g.reason),
                el('td', {}, g.count),
                el(
                  'td',
                  {},
                  el('div', {}, g.latest.detail),
                  el('code', {}, g.latest.topic),
                  ' ',
                  el('code', {}, g.latest.payload.slice(0, 200)),
                  el('div', { class: 'meta' }, fmtTime(g.latest.receivedAt)),
                ),
              ),
            ),
          ),
    )
  }

  async function renderStatus() {
    const s = await get('/api/status')
    $('gateway').textContent = s.gateway
    const rows = Object.entries(s.health.checks).map(([name, c]) =>
      el(
        'tr',
        {},
        el('td', {}, name),
        el(
          'td',
          {},
          el('span', { class: `badge ${c.ok ? 'ok' : 'bad'}` }, c.ok ? 'ok' : 'failing'),
        ),
        el('td', {}, c.detail ?? c.reason ?? ''),
      ),
    )
    rows.push(
      el(
        'tr',
        {},
        el('td', {}, 'buffer'),
        el('td', {}, `${s.buffer.pendingRows} pending`),
        el('td', {}, `${(s.buffer.fileBytes / 1048576).toFixed(1)} MB on disk`),
      ),
    )
    rows.push(
      el(
        'tr',
        {},
        el('td', {}, 'uplink backlog'),
        el('td', {}, s.uplink.configured ? `${s.uplink.backlogRows} rows` : 'not configured'),
        el('td', {}, s.uplink.configured ? `oldest ${Math.round(s.uplink.lagSeconds)} s` : ''),
      ),
    )
    rows.push(
      el(
        'tr',
        {},
        el('td', {}, 'notifications'),
        el('td', {}, `${s.notifications.pending} pending`),
        el('td', {}, ''),
      ),
    )
    $('status').replaceChildren(el('table', {}, ...rows))
  }

  function showError(err) {
    $('live').textContent = String(err.message || err)
    $('live').className = 'badge bad'
  }

  function connect() {
    const es = new EventSource('/events')
    es.onopen = () => {
      $('live').textContent = 'live'
      $('live').className = 'badge ok'
    }
    es.onerror = () => {
      $('live').textContent = 'reconnecting…'
      $('live').className = 'badge bad'
    }
    es.addEventListener('readings', (e) => onReadings(JSON.parse(e.data)))
    es.addEventListener('alert', () => {
      renderAlerts().catch(showError)
      scheduleReload()
    })
  }

  $('range').addEventListener('change', () => {
    rangeMs = Number($('range').value)
    renderDevices().catch(showError)
  })
  let resizeTimer
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => {
      for (const c of charts.values()) c.u?.setSize({ width: chartWidth(c.box), height: 120 })
    }, 200)
  })

  // For the browser test and curious owners: points currently drawn per chart.
  window.floxgate = {
    points: (device, metric) => charts.get(key(device, metric))?.u?.data[0].length ?? 0,
  }

  connect()
  renderStatus().catch(showError)
  renderAlerts().catch(showError)
  renderDeadLetters().catch(showError)
  renderDevices().then(() => {
    document.body.dataset.ready = '1'
  }, showError)
  setInterval(tickAges, 5000)
  setInterval(() => {
    renderStatus().catch(showError)
    renderDeadLetters().catch(showError)
  }, 15000)
})()
