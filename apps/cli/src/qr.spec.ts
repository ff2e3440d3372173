import { terminalQr } from './qr';

describe('terminalQr', () => {
  it('draws a square code with a quiet zone, two modules per line', () => {
    const lines = terminalQr('http://localhost:3001/#pair=K7QM4TXR2B').split('\n');
    const width = lines[0].length;
    expect(lines.every((line) => line.length === width)).toBe(true);
    // Module count + 2 × 2 quiet modules, halved in height (rounded up).
    expect(lines.length).toBe(Math.ceil(width / 2));
    expect(lines[0]).toMatch(/^█+$/); // the quiet zone is light
    expect(lines.join('')).toMatch(/[ ▀▄]/);
  });

  it('encodes different text differently', () => {
    expect(terminalQr('a')).not.toEqual(terminalQr('b'));
  });
});
