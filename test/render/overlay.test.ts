import { activationPlane, overlay, resizeBilinear } from '../../src/render/overlay.js';
import { colormapLut } from '../../src/render/colormap.js';
import { channelStats, selectChannels, layerStatistics } from '../../src/render/featuremaps.js';

test('the overlay plane is the mean over channels, or one channel', () => {
  const activation = Float32Array.of(1, 3, 2, 6); // 1x2 map, 2 channels
  expect(Array.from(activationPlane(activation, [1, 2, 2]))).toEqual([2, 4]);
  expect(Array.from(activationPlane(activation, [1, 2, 2], 1))).toEqual([3, 6]);
});

test('bilinear enlargement keeps constant planes constant and interpolates between centres', () => {
  expect(Array.from(resizeBilinear(Float32Array.of(5, 5, 5, 5), [2, 2], [3, 3]))).toEqual(Array(9).fill(5));
  expect(Array.from(resizeBilinear(Float32Array.of(0, 4), [1, 2], [1, 4]))).toEqual([0, 1, 3, 4]);
});

test('alpha 0 shows the image, alpha 1 the colour map', () => {
  const image = { width: 1, height: 2, data: Uint8Array.of(10, 20, 30, 40, 50, 60) };
  const lut = colormapLut('viridis');
  expect(Array.from(overlay(image, Float32Array.of(0, 1), [2, 1], lut, 0).data)).toEqual([10, 20, 30, 40, 50, 60]);
  expect(Array.from(overlay(image, Float32Array.of(0, 1), [2, 1], lut, 1).data)).toEqual([68, 1, 84, 253, 231, 37]);
});

test('--sort activity picks the maps with the highest mean activation, strongest first', () => {
  // 2 pixels, 4 channels: means 1, 3, 0, 3
  const stats = channelStats(Float32Array.of(1, 2, 0, 3, 1, 4, 0, 3), 4);
  expect(selectChannels(stats, 3, 'activity')).toEqual([1, 3, 0]);
  expect(selectChannels(stats, 3, 'index')).toEqual([0, 1, 2]);
  expect(layerStatistics(stats)).toEqual({ mean: 1.75, deadShare: 0.75 }); // channels 0, 2, 3 are constant
});
