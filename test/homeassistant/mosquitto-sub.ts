/**
 * Mosquitto's own command-line subscriber as a child process, subscribed the way Home
 * Assistant subscribes (its discovery prefix and the state topics), printing each
 * message as `<retain flag> <topic> <payload>`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { waitFor } from '../helpers/wait.js'

export interface SubMessage {
  readonly retained: boolean
  readonly topic: string
  readonly payload: string
}

export interface MosquittoSub {
  readonly messages: SubMessage[]
  /** The newest message on `topic`, waiting for one that passes `accept`. */
  latest(topic: string, accept?: (m: SubMessage) => boolean, what?: string): Promise<SubMessage>
  close(): void
}

export async function mosquittoSub(
  port: number,
  filters: readonly string[],
): Promise<MosquittoSub> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-V',
    'mqttv311',
    '-q',
    '1',
    '-F',
    '%r %t %p',
  ]
  for (const f of filters) args.push('-t', f)
  const child: ChildProcess = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const messages: SubMessage[] = []
  let partial = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const first = line.indexOf(' ')
      const second = line.indexOf(' ', first + 1)
      const end = second === -1 ? line.length : second
      messages.push({
        retained: line.slice(0, first) === '1',
        topic: line.slice(first + 1, end),
        payload: second === -1 ? '' : line.slice(second + 1),
      })
    }
  })
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const latest = (topic: string, accept: (m: SubMessage) => boolean = () => true, what = topic) =>
    waitFor(
      () => {
        for (let i = messages.length - 1; i >= 0; i--) {
          const m = messages[i]!
          if (m.topic === topic) return accept(m) ? m : undefined
        }
        if (child.exitCode !== null) throw new Error(`mosquitto_sub exited: ${stderr}`)
        return undefined
      },
      { what: `${what} at mosquitto_sub` },
    )
  return {
    messages,
    latest,
    close: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
