/**
 * The browser demo: load an exported model, classify a drawn or uploaded image, add a class from a few examples,
 * download the updated model. `window.onnxCilDemo` exposes the same steps to end-to-end tests.
 */
import { loadClassifier, type BrowserClassifier, type BrowserImage, type ImageDataLike, type Prediction } from '../../src/app/browser.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('draw');
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
let clf: BrowserClassifier | null = null;
let examples: BrowserImage[] = [];
let lastImage: BrowserImage | null = null;

function showError(err: unknown): void {
  $('error').textContent = err instanceof Error ? err.message : String(err);
}

function clearCanvas(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  lastImage = null;
}

function canvasImage(): ImageData {
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

function refresh(): void {
  const ready = clf !== null;
  for (const id of ['classify', 'add-example', 'download']) $<HTMLButtonElement>(id).disabled = !ready;
  $<HTMLButtonElement>('add-class').disabled = !ready || examples.length === 0;
  $('example-count').textContent = `${examples.length} example${examples.length === 1 ? '' : 's'}`;
  $('classes').textContent = clf ? `${clf.classNames.length} classes: ${clf.classNames.join(', ')}` : '';
}

function showPredictions(top: Prediction[]): void {
  const list = $('predictions');
  list.replaceChildren(
    ...top.map((p) => {
      const li = document.createElement('li');
      li.textContent = `${p.label} — ${(p.probability * 100).toFixed(1)}%`;
      li.dataset['label'] = p.label;
      li.dataset['probability'] = String(p.probability);
      return li;
    }),
  );
}

async function useModel(source: string | Blob): Promise<void> {
  $('error').textContent = '';
  $('model-status').textContent = 'loading…';
  const next = await loadClassifier(source);
  await clf?.dispose();
  clf = next;
  const info = clf.info;
  $('model-status').textContent =
    `loaded: ${info.model}, ${info.classNames.length} classes, input ${info.inputSize.join('x')} (${info.inputLayout}), runs on ${clf.device}`;
  $('model-status').dataset['ready'] = 'true';
  refresh();
}

async function classify(image: BrowserImage): Promise<Prediction[]> {
  if (!clf) throw new Error('load a model first');
  const top = await clf.classify(image, { topK: 5 });
  showPredictions(top);
  return top;
}

// Drawing: thick light strokes on black, like Fashion-MNIST's light objects on a dark background.
let drawing = false;
canvas.addEventListener('pointerdown', (e) => {
  drawing = true;
  lastImage = null;
  ctx.beginPath();
  ctx.moveTo(e.offsetX, e.offsetY);
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 22;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.lineTo(e.offsetX, e.offsetY);
  ctx.stroke();
});
window.addEventListener('pointerup', () => (drawing = false));

$('clear').addEventListener('click', clearCanvas);
$('classify').addEventListener('click', () => classify(lastImage ?? canvasImage()).catch(showError));
$<HTMLInputElement>('model-file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) useModel(file).catch(showError);
});
$<HTMLInputElement>('image-file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file);
    clearCanvas();
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    lastImage = bitmap; // classify the file at its own resolution, not the preview
    await classify(bitmap);
  } catch (err) {
    showError(err);
  }
});
$('add-example').addEventListener('click', () => {
  examples.push(lastImage ?? canvasImage());
  refresh();
});
$<HTMLInputElement>('example-files').addEventListener('change', (e) => {
  for (const f of (e.target as HTMLInputElement).files ?? []) examples.push(f);
  refresh();
});
$('add-class').addEventListener('click', async () => {
  const label = $<HTMLInputElement>('new-label').value.trim();
  try {
    if (!clf) throw new Error('load a model first');
    await clf.addClasses([{ label, images: examples }]);
    examples = [];
    $<HTMLInputElement>('new-label').value = '';
    refresh();
  } catch (err) {
    showError(err);
  }
});
$('download').addEventListener('click', () => {
  if (!clf) return;
  const url = URL.createObjectURL(new Blob([clf.toBytes()], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'model.onnx' });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

clearCanvas();
refresh();
const modelParam = new URLSearchParams(location.search).get('model');
const ready = modelParam ? useModel(modelParam) : Promise.resolve();
ready.catch(showError);

/** The demo's steps for automated tests (pixels as plain arrays cross the page boundary). */
const toImage = (p: { data: number[]; width: number; height: number }): ImageDataLike => ({
  data: Uint8ClampedArray.from(p.data),
  width: p.width,
  height: p.height,
});
Object.assign(window, {
  onnxCilDemo: {
    ready,
    classify: (p: { data: number[]; width: number; height: number }, topK = 5) => clf!.classify(toImage(p), { topK }),
    addClass: async (label: string, images: { data: number[]; width: number; height: number }[]) => {
      await clf!.addClasses([{ label, images: images.map(toImage) }]);
      refresh();
    },
    toBytes: () => Array.from(clf!.toBytes()),
    classNames: () => [...clf!.classNames],
  },
});
