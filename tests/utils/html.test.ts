import { describe, expect, it } from 'vitest'
import { sanitizePostContent } from '../../src/utils/html.ts'

describe('sanitizePostContent', () => {
  it('keeps the allowed markup as it is', () => {
    const safe =
      '<h1>a</h1><h6>b</h6><p>x<br />y</p><strong>s</strong><em>e</em><b>b</b><i>i</i><u>u</u>' +
      '<ul><li>1</li></ul><ol><li>2</li></ol><blockquote>q</blockquote><pre><code>x &lt; y</code></pre>' +
      '<a href="https://example.com/x?y=1" title="t">l</a><a href="mailto:a@example.com">m</a>' +
      '<img src="http://example.com/a.png" alt="a" />'
    expect(sanitizePostContent(safe)).toBe(safe)
  })

  it.each([
    ['<p>a<script>alert(1)</script></p>', '<p>a</p>'],
    ['<p onclick="x()" onmouseover="y()">a</p>', '<p>a</p>'],
    ['<img src="https://e.com/a.png" onerror="alert(1)">', '<img src="https://e.com/a.png" />'],
    ['<a href="javascript:alert(1)">a</a>', '<a>a</a>'],
    ['<a href="JaVaScRiPt:alert(1)">a</a>', '<a>a</a>'],
    ['<a href="  javascript:alert(1)">a</a>', '<a>a</a>'],
    ['<a href="java&#x09;script:alert(1)">a</a>', '<a>a</a>'],
    ['<a href="/relative">a</a>', '<a>a</a>'],
    ['<a href="//evil.example/x">a</a>', '<a>a</a>'],
    ['<img src="javascript:alert(1)"><img src="data:image/png;base64,AA"><img src="mailto:a@b.c">', ''],
    ['<iframe src="https://evil.example">x</iframe>b', 'b'],
    ['<style>p { color: red }</style><p style="color:red">a</p>', '<p>a</p>'],
    ['<svg><circle onload="x()"/></svg><object data="x"></object>t', 't'],
    ['<div class="c" id="i"><span>t</span></div>', 't'],
    ['<a href="https://e.com" target="_blank" rel="opener">a</a>', '<a href="https://e.com">a</a>'],
  ])('sanitises %j', (html, expected) => {
    expect(sanitizePostContent(html)).toBe(expected)
  })
})
