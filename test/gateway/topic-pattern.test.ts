import { describe, expect, it } from 'vitest'
import { fillTopic, TopicPattern, topicPatternProblem } from '../../src/gateway/topic-pattern.js'

describe('TopicPattern', () => {
  const telemetry = new TopicPattern('sensors/{device}/telemetry')
  const perMetric = new TopicPattern('sensors/{device}/{metric}')

  it('captures the device and metric segments', () => {
    expect(telemetry.match('sensors/gh-1/telemetry')).toEqual({ device: 'gh-1', metric: undefined })
    expect(perMetric.match('sensors/gh-1/humidity')).toEqual({ device: 'gh-1', metric: 'humidity' })
  })

  it.each([
    'sensors/gh-1/telemetry/extra',
    'sensors/gh-1',
    'sensors//telemetry',
    'sensor/gh-1/telemetry',
    'sensorsX/gh-1/telemetry',
    'sensors/gh-1/telemetryX',
    'sensors/gh-1/telemetr',
    '',
    '/sensors/gh-1/telemetry',
  ])('refuses %j', (topic) => {
    expect(telemetry.match(topic)).toBeUndefined()
  })

  it('derives the MQTT subscription', () => {
    expect(telemetry.subscription).toBe('sensors/+/telemetry')
    expect(perMetric.subscription).toBe('sensors/+/+')
    expect(new TopicPattern('{device}').match('abc')).toEqual({ device: 'abc', metric: undefined })
  })

  it('explains bad patterns', () => {
    expect(topicPatternProblem('sensors/a+/{device}')).toMatch(/whole "\+" level/)
    expect(topicPatternProblem('sensors/+/x')).toMatch(/expected a \{device\} segment/)
    expect(topicPatternProblem('sensors/+/x', { deviceRequired: false })).toBeUndefined()
    expect(topicPatternProblem('sensors/dev-{device}')).toMatch(/whole segments/)
    expect(topicPatternProblem('sensors/telemetry')).toMatch(/expected a \{device\}/)
    expect(topicPatternProblem('{device}/{device}')).toMatch(/at most one \{device\}/)
    expect(topicPatternProblem('sensors//{device}')).toMatch(/empty segment/)
    expect(topicPatternProblem('sensors/{device}/{metric}')).toBeUndefined()
    expect(() => new TopicPattern('a/{metric}')).toThrow(/device/)
  })

  it('matches "+" levels, {sensor} segments and a multi-level last {device}', () => {
    const rtl = new TopicPattern('rtl_433/+/events', { deviceRequired: false })
    expect(rtl.subscription).toBe('rtl_433/+/events')
    expect(rtl.match('rtl_433/pi/events')).toEqual({ device: undefined, metric: undefined })
    expect(rtl.match('rtl_433/pi/devices')).toBeUndefined()
    const esp = new TopicPattern('{device}/sensor/{sensor}/state')
    expect(esp.match('node1/sensor/room_temperature/state')).toEqual({
      device: 'node1',
      metric: 'room_temperature',
    })
    const z2m = new TopicPattern('zigbee2mqtt/{device}', { multiLevelDevice: true })
    expect(z2m.subscription).toBe('zigbee2mqtt/#')
    expect(z2m.match('zigbee2mqtt/kitchen/fridge')?.device).toBe('kitchen/fridge')
    expect(z2m.match('zigbee2mqtt/')).toBeUndefined()
    expect(z2m.match('other/kitchen')).toBeUndefined()
  })

  it('fills output topic templates, leaving unknown placeholders', () => {
    expect(
      fillTopic('floxgate/alerts/{device}/{metric}', { device: 'd1', metric: 'humidity' }),
    ).toBe('floxgate/alerts/d1/humidity')
    expect(fillTopic('{gateway}/{device}', { gateway: 'g' })).toBe('g/{device}')
  })
})
