import { SMTPServer } from 'smtp-server'

/** A mail as the capture server received it. */
export interface CapturedMail {
  from: string
  to: string[]
  raw: string
}

/** An SMTP server on a random loopback port that keeps every mail it receives. */
export interface MailCapture {
  url: string
  mails: CapturedMail[]
  /** Resolves with the first mail to `to` matching `pattern`, waiting up to `timeoutMs`. */
  waitFor(to: string, pattern: RegExp, timeoutMs?: number): Promise<CapturedMail>
  close(): Promise<void>
}

/** Starts an SMTP capture server (no auth, no TLS) for the tests. */
export async function startMailCapture(): Promise<MailCapture> {
  const mails: CapturedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          // Quoted-printable soft line breaks are undone so links can be matched whole.
          raw: Buffer.concat(chunks)
            .toString('utf8')
            .replace(/=\r?\n/g, '')
            .replace(/=3D/g, '='),
        })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as { port: number }
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitFor(to, pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const found = mails.find((m) => m.to.includes(to) && pattern.test(m.raw))
        if (found) return found
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`no mail to ${to} matching ${pattern} within ${timeoutMs} ms`)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
