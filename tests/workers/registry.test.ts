import { describe, expect, it } from 'vitest'
import { DEFAULT_GROUP, type EventHandler, HandlerRegistry } from '../../src/workers/registry.ts'

const handler = (name: string, group?: string): EventHandler => ({ name, group, handle: async () => {} })

describe('HandlerRegistry', () => {
  it('groups handlers by queue group and event type, in registration order', () => {
    const mail = handler('mail.verification')
    const audit = handler('audit.user')
    const cleanup = handler('storage.cleanup', 'storage')
    const registry = new HandlerRegistry()
      .register('user.registered', mail)
      .register('user.registered', audit)
      .register('user.email_verification_requested', mail)
      .register('file.deleted', cleanup)
    expect(registry.groups()).toEqual([DEFAULT_GROUP, 'storage'])
    expect(registry.typesOf(DEFAULT_GROUP)).toEqual(['user.registered', 'user.email_verification_requested'])
    expect(registry.typesOf('storage')).toEqual(['file.deleted'])
    expect(registry.handlersFor(DEFAULT_GROUP, 'user.registered')).toEqual([mail, audit])
    expect(registry.handlersFor('storage', 'user.registered')).toEqual([])
    expect(registry.typesOf('nope')).toEqual([])
  })

  it('refuses a handler registered twice for a type, and invalid names or groups', () => {
    const registry = new HandlerRegistry().register('post.deleted', handler('cache.posts'))
    expect(() => registry.register('post.deleted', handler('cache.posts'))).toThrow(/already registered/)
    expect(() => registry.register('post.deleted', handler('Bad Name'))).toThrow(/invalid handler name/)
    expect(() => registry.register('post.deleted', handler('ok.name', 'bad.group'))).toThrow(
      /invalid handler group/,
    )
  })
})
