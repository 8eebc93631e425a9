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
    expect(topicPatternProblem('sensors/+/x')).toMatch(/wildcards/)
    expect(topicPatternProblem('sensors/dev-{device}')).toMatch(/whole segments/)
    expect(topicPatternProblem('sensors/telemetry')).toMatch(/exactly one \{device\}/)
    expect(topicPatternProblem('sensors//{device}')).toMatch(/empty segment/)
    expect(topicPatternProblem('sensors/{device}/{metric}')).toBeUndefined()
    expect(() => new TopicPattern('a/{metric}')).toThrow(/device/)
  })

  it('fills output topic templates, leaving unknown placeholders', () => {
    expect(
      fillTopic('floxgate/alerts/{device}/{metric}', { device: 'd1', metric: 'humidity' }),
    ).toBe('floxgate/alerts/d1/humidity')
    expect(fillTopic('{gateway}/{device}', { gateway: 'g' })).toBe('g/{device}')
  })
})
