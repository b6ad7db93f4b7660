/**
 * Gives focus back to the element that opened a panel (a row's Edit button, the field a secret was created from)
 * once the panel's closing has rendered. The panel takes the focused element with it, and focus left on <body>
 * sends a keyboard or screen-reader user back to the top of the page. Preact renders on a microtask, so a
 * task after it sees the panel gone; an opener the render removed too is left alone.
 */
export function returnFocus(opener: Element | null) {
  setTimeout(() => {
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
  })
}
