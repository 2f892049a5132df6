import { PermissionException, ResourceNotFoundException, ValidationException } from '../exceptions.ts'
import type { PostStatus } from '../models/post.ts'
import type { User } from '../models/user.ts'
import { sanitizePostContent } from '../utils/html.ts'

/** What the access rules look at in a post. */
export interface PostAccess {
  status: PostStatus
  authorId: string
}

/**
 * Whether `caller` may see a post: published posts are public; drafts and archived posts belong to
 * their author and superusers.
 */
export function canSee(post: PostAccess, caller: User | null): boolean {
  return post.status === 'published' || caller?.id === post.authorId || caller?.isSuperuser === true
}

/**
 * Checks that `caller` may change a post.
 * @throws {ResourceNotFoundException} when the post is absent or the caller may not see it (a draft)
 * @throws {PermissionException} when the caller sees it but is neither its author nor a superuser
 */
export function assertEditable<T extends PostAccess>(post: T | null, caller: User): asserts post is T {
  if (!post || !canSee(post, caller)) throw new ResourceNotFoundException('Post not found')
  if (post.authorId !== caller.id && !caller.isSuperuser) {
    throw new PermissionException('Only the author or a superuser may change this post')
  }
}

/**
 * Sanitises post content with the allow-list of `utils/html.ts`.
 * @throws {ValidationException} 422 when nothing is left once unsafe markup is removed
 */
export function cleanContent(content: string): string {
  const clean = sanitizePostContent(content)
  if (clean.trim() === '') {
    throw new ValidationException('Validation error', [
      {
        loc: ['body', 'content'],
        msg: 'content is empty once unsafe markup is removed',
        type: 'empty_content',
      },
    ])
  }
  return clean
}
