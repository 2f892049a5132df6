import sanitizeHtml from 'sanitize-html'

const LINK_SCHEMES = ['http', 'https', 'mailto']
const IMAGE_SCHEMES = ['http', 'https']

/** Whether an attribute value is an absolute URL with one of `schemes` (relative URLs are refused too). */
function hasScheme(url: string | undefined, schemes: string[]): boolean {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url?.trim() ?? '')
  return match !== null && schemes.includes(match[1]!.toLowerCase())
}

/** Keeps a tag but drops its URL attribute when the URL's scheme is not allowed. */
function dropUnsafeUrl(attribute: 'href' | 'src', schemes: string[]): sanitizeHtml.Transformer {
  return (tagName, attribs) => {
    const kept = { ...attribs }
    if (!hasScheme(kept[attribute], schemes)) delete kept[attribute]
    return { tagName, attribs: kept }
  }
}

/**
 * The allow-list of post content: simple text markup, links (http, https, mailto) and images (http,
 * https). Everything else goes: scripts and styles with their content, iframes, event handlers,
 * `style` attributes, other URL schemes (`javascript:`, `data:`) and relative URLs.
 */
const POST_CONTENT_POLICY: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'br',
    'strong',
    'em',
    'b',
    'i',
    'u',
    'a',
    'ul',
    'ol',
    'li',
    'blockquote',
    'code',
    'pre',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'img',
  ],
  allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt'] },
  allowedSchemes: LINK_SCHEMES,
  allowedSchemesByTag: { img: IMAGE_SCHEMES },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  allowedStyles: {},
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'template'],
  transformTags: { a: dropUnsafeUrl('href', LINK_SCHEMES), img: dropUnsafeUrl('src', IMAGE_SCHEMES) },
  // An image without a source shows nothing: drop it rather than keep an empty tag.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
}

/**
 * Sanitises a post's HTML content with the allow-list above.
 * @param html the content as sent
 * @returns the safe HTML
 */
export function sanitizePostContent(html: string): string {
  return sanitizeHtml(html, POST_CONTENT_POLICY)
}
