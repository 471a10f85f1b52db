// Downloads of what a panel shows: a PNG of its charts (every canvas and
// SVG of the panel stacked on white) and a CSV of its numbers. Everything
// happens in the page; nothing is sent anywhere.

/** Quotes one CSV cell when it needs it. */
function cell(value) {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Builds CSV text from a header row and data rows. */
export function toCsv(header, rows) {
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\n') + '\n';
}

/** Saves a Blob under `name` through a temporary link. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function svgToImage(svg) {
  const text = new XMLSerializer().serializeToString(svg);
  const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('could not render the diagram to PNG'));
    image.src = url;
  });
}

/**
 * Draws every visible canvas and SVG inside `root` onto one canvas. Figures
 * side by side stay side by side; rows of figures are stacked without the
 * text between them. Returns the canvas.
 */
export async function composePanel(root) {
  const items = [];
  for (const element of root.querySelectorAll('canvas, svg.diagram')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const source = element.tagName.toLowerCase() === 'svg' ? await svgToImage(element) : element;
    items.push({ source, box });
  }
  items.sort((a, b) => a.box.top - b.box.top);
  const gap = 12;
  const origin = root.getBoundingClientRect();
  let rowTop = -Infinity;
  let rowBottom = -Infinity;
  let rowY = -gap;
  for (const item of items) {
    if (item.box.top >= rowBottom) { // a new row of figures
      rowY += (rowBottom === -Infinity ? 0 : rowBottom - rowTop) + gap;
      rowTop = item.box.top;
      rowBottom = item.box.bottom;
    } else {
      rowBottom = Math.max(rowBottom, item.box.bottom);
    }
    item.x = item.box.left - origin.left;
    item.y = rowY + (item.box.top - rowTop);
  }
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, ...items.map((item) => item.x + item.box.width));
  const height = Math.max(1, ...items.map((item) => item.y + item.box.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  for (const item of items) g.drawImage(item.source, item.x, item.y, item.box.width, item.box.height);
  return canvas;
}

/** Saves a PNG of the panel's figures. */
export async function savePanelPng(root, name) {
  const canvas = await composePanel(root);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  saveBlob(blob, name);
}

/** Saves CSV text. */
export function saveCsv(text, name) {
  saveBlob(new Blob([text], { type: 'text/csv;charset=utf-8' }), name);
}
