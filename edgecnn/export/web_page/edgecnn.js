// The page's one module: LiteRT.js runs model.tflite on WebGPU where the browser has it, on WebAssembly
// (XNNPACK) otherwise. model.json, written by `edgecnn export --format web`, says how the file takes an image:
// its input shape and type, the fit (pad or resize), the normalization and the quantization LiteRT.js does not
// report, and the class names. `window.edgecnn` is the same API for scripts (make web-check drives it).
import {loadLiteRt, loadAndCompile, Tensor, isWebGPUSupported, supportsFeature} from '@litertjs/core';

const info = await (await fetch('model.json')).json();
const [, H, W, C] = info.input.shape;
let model = null;
let ran = {accelerator: null, fully: null, fallback: null};

async function gpuProblem() {
  if (!isWebGPUSupported()) return 'this browser has no WebGPU';
  const adapter = await navigator.gpu.requestAdapter();
  return adapter ? null : 'the browser has WebGPU but no adapter';
}

// wanted: 'auto' (WebGPU where usable, else wasm), 'webgpu' (fails when unusable) or 'wasm'
async function start(wanted = 'auto') {
  // the JSPI build where the browser has JSPI: ops WebGPU lacks run on wasm, and int8 files run on WebGPU
  const jspi = await supportsFeature('jspi');
  await loadLiteRt(new URL('litertjs/wasm/', import.meta.url).href, jspi ? {jspi: true} : {});
  let fallback = null;
  if (wanted !== 'wasm') {
    fallback = await gpuProblem();
    if (!fallback) {
      try {
        model = await loadAndCompile(new URL(info.model, import.meta.url).href,
                                     {accelerator: 'webgpu', gpuOptions: {precision: info.gpu_precision}});
      } catch (e) {
        fallback = `WebGPU could not compile the model (${e.message})`;
      }
    }
    if (wanted === 'webgpu' && fallback) throw new Error(fallback);
  }
  if (!model) model = await loadAndCompile(new URL(info.model, import.meta.url).href, {accelerator: 'wasm'});
  ran = {accelerator: model.options.accelerator, fully: model.isFullyAccelerated, fallback, jspi};
  return ran;
}

// RGBA pixels (an ImageData) -> the input tensor's values, as edgecnn fits images: channels first (grey is
// round(0.299 R + 0.587 G + 0.114 B), grey to RGB repeats it), then resize (bilinear) or centre-pad with zeros
function fit(image) {
  let {data, width: w, height: h} = image;
  const larger = w > W || h > H;
  if (info.fit === 'resize' || (info.fit === 'auto' && larger)) {
    if (info.fit === 'pad') throw new Error(`the image is ${h}x${w}, larger than the input ${H}x${W}`);
    const from = new OffscreenCanvas(w, h);
    from.getContext('2d').putImageData(image, 0, 0);
    const to = new OffscreenCanvas(W, H).getContext('2d');
    to.imageSmoothingEnabled = true;
    to.imageSmoothingQuality = 'high';
    to.drawImage(from, 0, 0, W, H);
    ({data, width: w, height: h} = to.getImageData(0, 0, W, H));
  } else if (larger) {
    throw new Error(`the image is ${h}x${w}, larger than the input ${H}x${W}, and this model's recipe pads`);
  }
  const out = new Uint8Array(H * W * C);               // zeros: the padding
  const top = Math.floor((H - h) / 2), left = Math.floor((W - w) / 2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x), o = C * ((y + top) * W + x + left);
      if (C === 1) out[o] = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
      else for (let c = 0; c < 3; c++) out[o + c] = data[i + c];
    }
  }
  return out;
}

// fitted uint8 pixels -> the typed array the input takes: (pixel - mean) / std, quantized for a uint8 input
function toInput(pixels) {
  const {mean, std} = info.normalization, q = info.input.quantization;
  if (info.input.dtype === 'float32') return Float32Array.from(pixels, p => (p - mean) / std);
  return Uint8Array.from(pixels, p => Math.min(255, Math.max(0, Math.round((p - mean) / std / q.scale + q.zero_point))));
}

async function scores(input) {
  const tensor = new Tensor(input, info.input.shape);
  const outputs = await model.run(tensor);
  const raw = await outputs[0].data();
  tensor.delete();
  outputs.forEach(t => t.delete());
  const q = info.output.quantization;
  return q ? Float32Array.from(raw, v => (v - q.zero_point) * q.scale) : Float32Array.from(raw);
}

function top(values, k) {
  return [...values.keys()].sort((a, b) => values[b] - values[a] || a - b).slice(0, k)
    .map(i => ({index: i, label: info.labels ? info.labels[i] : String(i), score: values[i]}));
}

async function classify(image, k = info.top) {
  const t0 = performance.now();
  const values = await scores(toInput(fit(image)));
  return {top: top(values, k), ms: performance.now() - t0};
}

// many fitted inputs at once (make web-check): uint8 pixels of N images at the input's size, back to back
async function classifyFitted(pixels, n) {
  const size = H * W * C, classes = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const values = await scores(toInput(pixels.subarray(i * size, (i + 1) * size)));
    classes.push(top(values, 1)[0].index);
  }
  return {classes, msPerImage: (performance.now() - t0) / n};
}

function describe() {
  if (ran.accelerator === 'webgpu')
    return `WebGPU${ran.fully ? '' : ' (some operators on WebAssembly)'}`;
  return `WebAssembly (XNNPACK)${ran.fallback ? `: ${ran.fallback}` : ''}`;
}

async function show(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const preview = document.getElementById('preview').getContext('2d');
  preview.imageSmoothingEnabled = false;
  preview.clearRect(0, 0, 128, 128);
  preview.drawImage(bitmap, 0, 0, 128, 128);
  const table = document.getElementById('top');
  try {
    const {top: best, ms} = await classify(image);
    table.innerHTML = '';
    for (const {label, score} of best) {
      const row = table.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = (100 * score).toFixed(1) + ' %';
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = `${Math.max(1, Math.round(200 * Math.min(1, Math.max(0, score))))}px`;
      row.insertCell().appendChild(bar);
    }
    document.getElementById('status').textContent = `${file.name}: ${ms.toFixed(1)} ms on ${describe()}`;
  } catch (e) {
    table.innerHTML = '';
    document.getElementById('status').textContent = `${file.name}: ${e.message}`;
  }
}

function wire() {
  const drop = document.getElementById('drop'), picker = document.getElementById('file');
  picker.addEventListener('change', () => picker.files[0] && show(picker.files[0]));
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) show(e.dataTransfer.files[0]);
  });
}

window.edgecnn = {info, start, fit, classify, classifyFitted, show, ran: () => ({...ran, text: describe()})};
document.getElementById('title').textContent = info.name;
document.getElementById('note').textContent = info.note;
if (new URLSearchParams(location.search).get('manual') === null) {    // ?manual: a script calls start()
  start(new URLSearchParams(location.search).get('accelerator') || 'auto').then(() => {
    document.getElementById('status').textContent = `ready: ${describe()}`;
    wire();
  }, e => { document.getElementById('status').textContent = `could not start: ${e.message}`; });
}
