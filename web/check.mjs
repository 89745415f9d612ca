// make web-check's driver: the system Chromium, headless, through puppeteer-core, on a page that
// `edgecnn export --format web` wrote and edgecnn serves on 127.0.0.1. One accelerator a run. Prints one JSON
// line: what ran, the top-1 class of each fitted test image, the pixels the page fitted from each PNG given, and
// (with --screenshot) a picture of the page classifying the first PNG through its own file picker.
//   node web/check.mjs --url URL --accelerator wasm|webgpu --fitted FILE --count N [--png FILE ...]
//                      [--screenshot OUT.png] [--chromium /usr/bin/chromium]
import {readFileSync} from 'node:fs';
import puppeteer from 'puppeteer-core';

const args = {png: []};
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (key === 'png') args.png.push(process.argv[i + 1]); else args[key] = process.argv[i + 1];
}
const chromium = args.chromium || '/usr/bin/chromium';
const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  // WebGPU on Linux is behind this flag; with no GPU Chromium offers SwiftShader, its software Vulkan device
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader'],
});
const out = {browser: await browser.version()};
try {
  const page = await browser.newPage();
  const console_ = [];
  page.on('console', m => console_.push(m.text()));
  page.on('pageerror', e => console_.push(String(e)));
  await page.goto(`${args.url}?manual`, {waitUntil: 'load'});
  await page.waitForFunction(() => window.edgecnn, {timeout: 60000});
  Object.assign(out, await page.evaluate(async a => {
    const ran = await window.edgecnn.start(a);
    return {ran: window.edgecnn.ran(), webgpu: !!navigator.gpu,
            adapter: await (async () => {
              const info = navigator.gpu && (await navigator.gpu.requestAdapter())?.info;
              return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
                          : null;
            })()};
  }, args.accelerator));
  const fitted = readFileSync(args.fitted);
  const count = Number(args.count);
  // the images go in as base64 in chunks: page.evaluate's arguments travel as JSON
  const chunk = 200, size = fitted.length / count, classes = [];
  let ms = 0;
  for (let i = 0; i < count; i += chunk) {
    const n = Math.min(chunk, count - i);
    const b64 = fitted.subarray(i * size, (i + n) * size).toString('base64');
    const r = await page.evaluate(async (b, k) => {
      const bytes = Uint8Array.from(atob(b), c => c.charCodeAt(0));
      return window.edgecnn.classifyFitted(bytes, k);
    }, b64, n);
    classes.push(...r.classes);
    ms += r.msPerImage * n;
  }
  out.classes = classes;
  out.msPerImage = ms / count;
  out.pngs = [];
  for (const png of args.png) {
    const b64 = readFileSync(png).toString('base64');
    out.pngs.push(await page.evaluate(async b => {
      const blob = new Blob([Uint8Array.from(atob(b), c => c.charCodeAt(0))], {type: 'image/png'});
      const bitmap = await createImageBitmap(blob);
      const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const {top} = await window.edgecnn.classify(image, 1);
      return {fitted: Array.from(window.edgecnn.fit(image)), top1: top[0].index};
    }, b64));
  }
  if (args.screenshot && args.png.length) {      // the page as a person sees it: picker, picture, top classes
    const shown = await browser.newPage();
    await shown.setViewport({width: 760, height: 620});
    await shown.goto(`${args.url}?accelerator=${args.accelerator}`, {waitUntil: 'load'});
    await shown.waitForFunction(() => document.getElementById('status').textContent.startsWith('ready'),
                                {timeout: 120000});
    const picker = await shown.$('#file');
    await picker.uploadFile(args.png[0]);
    await shown.waitForFunction(() => document.getElementById('status').textContent.includes(' ms on '),
                                {timeout: 120000});
    out.shown = await shown.evaluate(() => document.getElementById('status').textContent);
    await shown.screenshot({path: args.screenshot});
  }
  out.console = console_.slice(0, 20);
} catch (e) {
  out.error = String(e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
