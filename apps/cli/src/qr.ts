import qrcode from 'qrcode-generator';

/**
 * Renders text as a QR code for a terminal: two modules per character cell with half blocks,
 * dark on light, with the quiet zone scanners need.
 */
export function terminalQr(text: string): string {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const size = qr.getModuleCount();
  const margin = 2;
  const dark = (row: number, col: number) =>
    row >= 0 && col >= 0 && row < size && col < size && qr.isDark(row, col);
  const lines: string[] = [];
  for (let row = -margin; row < size + margin; row += 2) {
    let line = '';
    for (let col = -margin; col < size + margin; col++) {
      const top = dark(row, col);
      const bottom = dark(row + 1, col);
      // Light modules are drawn (the terminal background may be dark), dark ones left blank.
      line += top ? (bottom ? ' ' : '▄') : bottom ? '▀' : '█';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
