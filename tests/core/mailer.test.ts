import { once } from 'node:events'
import { createServer } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMailer } from '../../src/core/mailer.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { capturingLogger } from '../support/app.ts'
import { silentLog } from '../support/events.ts'

const LINK = 'http://localhost:8000/verify-email?token=abc.DEF_123-xyz&next=%2Fhome'

interface Captured {
  from: string
  to: string[]
  raw: string
}

/** Undoes quoted-printable soft breaks and escapes, enough to read a mail body. */
function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

describe('SMTP mailer', () => {
  const captured: Captured[] = []
  let server: SMTPServer
  let port: number

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        let raw = ''
        stream.on('data', (chunk: Buffer) => {
          raw += chunk.toString('utf8')
        })
        stream.on('end', () => {
          const from = session.envelope.mailFrom
          captured.push({
            from: from ? from.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
          })
          callback()
        })
      },
    })
    server.listen(0, '127.0.0.1')
    await once(server.server, 'listening')
    port = (server.server.address() as { port: number }).port
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('delivers the mail with its sender, recipient, subject, body and link', async () => {
    const mailer = createMailer(
      { smtpUrl: `smtp://127.0.0.1:${port}`, mailFrom: 'Folio <no-reply@folio.test>' },
      silentLog,
    )
    expect(mailer.mode).toBe('external')
    await expect(mailer.ping?.(2_000)).resolves.toBeUndefined()
    await mailer.send({
      to: 'alice@example.com',
      subject: 'Verify your email address',
      text: `Hello Alice,\n\nconfirm your address: ${LINK}\n`,
      html: `<p>Hello Alice,</p><p><a href="${LINK}">Confirm</a></p>`,
    })
    await mailer.close()

    expect(captured).toHaveLength(1)
    const mail = captured[0] as Captured
    expect(mail.from).toBe('no-reply@folio.test')
    expect(mail.to).toEqual(['alice@example.com'])
    expect(mail.raw).toMatch(/^Subject: Verify your email address\r?$/m)
    expect(mail.raw).toMatch(/^From: Folio <no-reply@folio\.test>\r?$/m)
    const body = decodeQuotedPrintable(mail.raw)
    expect(body).toContain('confirm your address:')
    expect(body).toContain(LINK)
    expect(body).toContain(`href="${LINK}"`)
  })

  it('fails with DependencyException when the SMTP server is unreachable', async () => {
    const closed = createServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const deadPort = (closed.address() as { port: number }).port
    await new Promise((resolve) => closed.close(resolve))
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${deadPort}`, mailFrom: 'a@b.c' }, silentLog)
    await expect(mailer.send({ to: 'bob@example.com', subject: 's', text: 't' })).rejects.toBeInstanceOf(
      DependencyException,
    )
    await expect(mailer.ping?.(2_000)).rejects.toBeInstanceOf(DependencyException)
    await mailer.close()
  })
})

describe('log mailer (no SMTP_URL)', () => {
  it('writes the mail, with its link, to the log instead of sending it', async () => {
    const { logger, lines } = capturingLogger()
    const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'Folio <no-reply@folio.test>' }, logger)
    expect(mailer.mode).toBe('embedded')
    expect(mailer.ping).toBeUndefined()
    await mailer.send({ to: 'carol@example.com', subject: 'Reset your password', text: `Reset: ${LINK}` })
    await mailer.close()
    const line = lines.find((l) => l.msg === 'mail (not sent)') as
      | { mail: Record<string, unknown> }
      | undefined
    expect(line?.mail).toMatchObject({
      to: 'carol@example.com',
      subject: 'Reset your password',
      links: [LINK],
      text: `Reset: ${LINK}`,
    })
  })
})
