// Small inline SVG icons for buttons, badges and legends. Symbol characters
// such as the pause sign are missing from the fonts of some systems (Debian's
// Chromium draws an empty box), so the page draws its symbols itself. Every
// icon is decorative (aria-hidden); the text beside it carries the meaning.

const wrap = (body, className = '') => `<svg class="icon${className ? ` ${className}` : ''}" viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true" focusable="false">${body}</svg>`;

export const ICONS = Object.freeze({
  play: wrap('<path d="M4 2.5v11l9-5.5z" fill="currentColor"/>'),
  pause: wrap('<rect x="3.5" y="2.5" width="3.2" height="11" rx="0.6" fill="currentColor"/><rect x="9.3" y="2.5" width="3.2" height="11" rx="0.6" fill="currentColor"/>'),
  check: wrap('<path d="M2.5 8.5l3.5 3.5 7.5-8" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/>', 'mark-icon'),
  cross: wrap('<path d="M3.5 3.5l9 9M12.5 3.5l-9 9" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/>', 'mark-icon'),
  disc: wrap('<circle cx="8" cy="8" r="5" fill="currentColor"/>'),
  square: wrap('<rect x="3" y="3" width="10" height="10" fill="currentColor"/>'),
  arc: wrap('<path d="M2.5 11a5.5 5.5 0 0 1 11 0" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/>'),
});

/** SVG path drawing a cross centred on (x, y) with half-size r, for inline diagrams. */
export function crossPath(x, y, r, color) {
  return `<path d="M ${x - r} ${y - r} L ${x + r} ${y + r} M ${x + r} ${y - r} L ${x - r} ${y + r}" stroke="${color}" stroke-width="2" stroke-linecap="round"/>`;
}
