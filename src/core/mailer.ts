import { createTransport } from 'nodemailer'
import type { Logger } from 'pino'
import { DependencyException } from '../exceptions.ts'
import { withTimeout } from '../utils/helpers.ts'
import type { Settings } from './config.ts'
import type { StoreMode } from './database.ts'

/** One outgoing mail. */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html?: string
}

/** The mail port: SMTP when `SMTP_URL` is set, else every mail is written to the log. */
export interface Mailer {
  readonly mode: StoreMode
  /**
   * Sends one mail (from `MAIL_FROM`).
   * @throws {DependencyException} when the SMTP server is unreachable or refuses the mail
   */
  send(mail: MailMessage): Promise<void>
  /** Checks the SMTP server answers (absent on the log mailer). */
  ping?(timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** Links in a mail's text, listed on their own in the log mailer's lines. */
const LINK = /https?:\/\/[^\s<>"]+/g

function createSmtpMailer(url: string, from: string): Mailer {
  const transport = createTransport(
    {
      url,
      pool: true,
      maxConnections: 3,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    },
    { from },
  )
  return {
    mode: 'external',
    async send(mail) {
      try {
        await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html })
      } catch (error) {
        throw new DependencyException('mail', error)
      }
    },
    async ping(timeoutMs) {
      try {
        await withTimeout(transport.verify(), timeoutMs, 'smtp ping')
      } catch (error) {
        throw new DependencyException('mail', error)
      }
    },
    async close() {
      transport.close()
    },
  }
}

function createLogMailer(from: string, log: Logger): Mailer {
  return {
    mode: 'embedded',
    async send(mail) {
      const links = mail.text.match(LINK) ?? []
      // Development only (production requires SMTP_URL): the links are what a developer needs.
      log.info(
        { mail: { from, to: mail.to, subject: mail.subject, links, text: mail.text } },
        'mail (not sent)',
      )
    },
    async close() {},
  }
}

/**
 * Creates the mailer: SMTP through a small nodemailer pool when `SMTP_URL` is set, else a mailer that
 * writes each mail, links included, to the log.
 *
 * @param settings the process settings
 * @param log the root logger
 * @returns the mailer; call `close()` at shutdown
 */
export function createMailer(settings: Pick<Settings, 'smtpUrl' | 'mailFrom'>, log: Logger): Mailer {
  return settings.smtpUrl
    ? createSmtpMailer(settings.smtpUrl, settings.mailFrom)
    : createLogMailer(settings.mailFrom, log)
}
