/** RFC 9110 §5.6.2: a token's characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/

/** RFC 9110 §5.6.4: a quoted string, its escapes (quoted-pairs) left in as sent. */
const QUOTED_STRING = /^"((?:[\t \x21\x23-\x5B\x5D-\x7E\x80-\xFF]|\\[\t \x21-\x7E\x80-\xFF])*)"/

/** A parameter's value as sent: a token, or a quoted string's content with its escapes still in it. */
type MediaTypeParameter = { name: string; value: string; quoted: boolean }

/**
 * The parameters of a media type (`type/subtype; name=value; …`), parsed strictly as RFC 9110 §5.6.6 writes them:
 * names lowercased, in order, repeats kept. Null when the text does not parse so: a reader that skips what it cannot
 * read (a stray quote, a name without `=`) may find a parameter another reader does not, inside a quoted value.
 */
export function mediaTypeParameters(mediaType: string): MediaTypeParameter[] | null {
  const type = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(mediaType)
  if (!type) return null
  const parameters: MediaTypeParameter[] = []
  let rest = mediaType.slice(type[0].length)
  for (;;) {
    rest = rest.replace(/^[\t ]*/, '')
    if (rest === '') return parameters
    if (rest[0] !== ';') return null
    rest = rest.slice(1).replace(/^[\t ]*/, '')
    if (rest === '' || rest[0] === ';') continue
    const name = TOKEN.exec(rest)
    if (!name || rest[name[0].length] !== '=') return null
    rest = rest.slice(name[0].length + 1)
    const quoted = QUOTED_STRING.exec(rest)
    const value = quoted ?? TOKEN.exec(rest)
    if (!value) return null
    parameters.push({ name: name[0].toLowerCase(), value: quoted ? quoted[1]! : value[0], quoted: quoted !== null })
    rest = rest.slice(value[0].length)
  }
}
