/**
 * The names HTML5 gives the printable ASCII characters other than letters and digits, and the no-break space
 * (WHATWG's named character references, case as written): every `&name;` a browser or an HTML decoder reads back
 * as one of them. PHP's `htmlentities(…, ENT_HTML5)` writes `+` as `&plus;` and `/` as `&sol;`. The space, `-` and
 * `~` have none: `&hyphen;` and `&dash;` are U+2010, `&tilde;` is U+02DC. The legacy spellings without the `;`
 * (`&amp`, `&lt`) are left out.
 */
export const NAMES_OF_CHARACTER: Readonly<Record<string, readonly string[]>> = {
  '!': ['excl'],
  '"': ['quot', 'QUOT'],
  '#': ['num'],
  $: ['dollar'],
  '%': ['percnt'],
  '&': ['amp', 'AMP'],
  "'": ['apos'],
  '(': ['lpar'],
  ')': ['rpar'],
  '*': ['ast', 'midast'],
  '+': ['plus'],
  ',': ['comma'],
  '.': ['period'],
  '/': ['sol'],
  ':': ['colon'],
  ';': ['semi'],
  '<': ['lt', 'LT'],
  '=': ['equals'],
  '>': ['gt', 'GT'],
  '?': ['quest'],
  '@': ['commat'],
  '[': ['lsqb', 'lbrack'],
  '\\': ['bsol'],
  ']': ['rsqb', 'rbrack'],
  '^': ['Hat'],
  _: ['lowbar', 'UnderBar'],
  '`': ['grave', 'DiacriticalGrave'],
  '{': ['lcub', 'lbrace'],
  '|': ['verbar', 'vert', 'VerticalLine'],
  '}': ['rcub', 'rbrace'],
  '\u00a0': ['nbsp', 'NonBreakingSpace'],
}

/** Each name of `NAMES_OF_CHARACTER` with the character it stands for. */
export const CHARACTER_OF_NAME: ReadonlyMap<string, string> = new Map(
  Object.entries(NAMES_OF_CHARACTER).flatMap(([char, names]) => names.map((name) => [name, char] as const)),
)
