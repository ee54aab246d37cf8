/**
 * Channel numbers drawn onto mosaics with a built-in 3x5 pixel font, so labels need no system
 * fonts (sharp's text rendering goes through fontconfig, which finds none on a bare server).
 * Digits only: labels are channel indices.
 */
import type { PixelImage } from './mosaic.js';

/** Each digit as 5 rows of 3 bits, top row first. */
const DIGITS: Record<string, number[]> = {
  '0': [0b111, 0b101, 0b101, 0b101, 0b111],
  '1': [0b010, 0b110, 0b010, 0b010, 0b111],
  '2': [0b111, 0b001, 0b111, 0b100, 0b111],
  '3': [0b111, 0b001, 0b111, 0b001, 0b111],
  '4': [0b101, 0b101, 0b111, 0b001, 0b001],
  '5': [0b111, 0b100, 0b111, 0b001, 0b111],
  '6': [0b111, 0b100, 0b111, 0b101, 0b111],
  '7': [0b111, 0b001, 0b010, 0b010, 0b010],
  '8': [0b111, 0b101, 0b111, 0b101, 0b111],
  '9': [0b111, 0b101, 0b111, 0b001, 0b111],
};

/** The label's size in pixels at a given pixel size: 3x5 per digit, 1 between, 1 around. */
export function labelSize(text: string, pixel: number): [width: number, height: number] {
  return [(text.length * 4 + 1) * pixel, 7 * pixel];
}

/**
 * Draws `text` (digits) white on a black box with its top-left corner at (x, y), each font
 * pixel `pixel` image pixels wide; clipped to the image. Changes `image` in place.
 */
export function drawLabel(image: PixelImage, text: string, x: number, y: number, pixel = 1): void {
  const [boxWidth, boxHeight] = labelSize(text, pixel);
  const set = (px: number, py: number, value: number): void => {
    if (px < 0 || py < 0 || px >= image.width || py >= image.height) return;
    const at = (py * image.width + px) * image.channels;
    for (let c = 0; c < image.channels; c++) image.data[at + c] = value;
  };
  for (let dy = 0; dy < boxHeight; dy++) for (let dx = 0; dx < boxWidth; dx++) set(x + dx, y + dy, 0);
  [...text].forEach((char, k) => {
    const rows = DIGITS[char];
    if (!rows) throw new Error(`labels are digits; got '${char}'`);
    rows.forEach((bits, row) => {
      for (let col = 0; col < 3; col++) {
        if (!(bits & (0b100 >> col))) continue;
        for (let py = 0; py < pixel; py++)
          for (let px = 0; px < pixel; px++) set(x + (1 + k * 4 + col) * pixel + px, y + (1 + row) * pixel + py, 255);
      }
    });
  });
}
