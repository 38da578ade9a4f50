/**
 * The one place that chooses the runtime: onnxruntime-node (CPU or CUDA) or onnxruntime-web (wasm, WebGPU).
 * Runtimes are loaded with dynamic import so a browser bundle never pulls in onnxruntime-node.
 */
import type { InferenceSession, Tensor, TypedTensor } from 'onnxruntime-common';

export type Device = 'cpu' | 'cuda' | 'auto';
export type RuntimeName = 'node' | 'web';

export interface BackendOptions {
  /** Which onnxruntime package runs the model (default: node). */
  runtime?: RuntimeName;
  /** cpu (default), cuda (fails clearly when the provider cannot load), auto (cuda, else cpu). */
  device?: Device;
  deviceId?: number;
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  threads?: number;
  /** onnxruntime's graph optimisation level (default: all). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  enableProfiling?: boolean;
  profilePrefix?: string;
  /** onnxruntime-web only: wasm or webgpu. */
  webProvider?: 'wasm' | 'webgpu';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** CUDA only: fail session creation if any node would run on the CPU (onnxruntime's disable_cpu_ep_fallback). */
  requireAllNodesOnDevice?: boolean;
  /** Extra session options passed through (e.g. memory arena switches measured by the bench). */
  extra?: Partial<InferenceSession.SessionOptions>;
}

type OrtModule = typeof import('onnxruntime-common') & { InferenceSession: typeof InferenceSession; Tensor: typeof Tensor };

const loaded = new Map<RuntimeName, Promise<OrtModule>>();
const loaders = new Map<RuntimeName, () => Promise<unknown>>();

/**
 * Supplies the import of a runtime package. A browser bundle registers `() => import('onnxruntime-web')` written
 * out, so the bundler sees and packs the package; without a registration the package is imported by name.
 * @example registerRuntime('web', () => import('onnxruntime-web'));
 */
export function registerRuntime(runtime: RuntimeName, load: () => Promise<unknown>): void {
  loaders.set(runtime, load);
  loaded.delete(runtime);
}

/** The module's namespace, or its default export where the package is CommonJS seen through an ES import. */
function ortModuleOf(m: unknown): OrtModule {
  const mod = m as OrtModule & { default?: OrtModule };
  return mod.default?.InferenceSession ? mod.default : mod;
}

/** The onnxruntime module for `runtime`, imported once. */
export function loadRuntime(runtime: RuntimeName = 'node'): Promise<OrtModule> {
  let p = loaded.get(runtime);
  const registered = loaders.get(runtime);
  if (!p && registered) {
    p = registered().then(ortModuleOf);
    loaded.set(runtime, p);
  }
  if (!p) {
    const name = runtime === 'node' ? 'onnxruntime-node' : 'onnxruntime-web';
    p = import(/* @vite-ignore */ name).then(ortModuleOf);
    loaded.set(runtime, p);
  }
  return p;
}

/** Session plus the runtime module it came from (to make tensors of the matching class). */
export interface Backend {
  readonly ort: OrtModule;
  readonly session: InferenceSession;
  readonly device: 'cpu' | 'cuda' | 'wasm' | 'webgpu';
}

/** Provider libraries onnxruntime-node loads from beside its native binding for --device cuda. */
const CUDA_PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

/**
 * Which CUDA provider library is absent from onnxruntime-node's folder: null when all are there, or when it cannot
 * tell (not Node, or not Linux, whose library names these are). The npm package ships none of them (docs/gpu.md).
 *
 * @example
 * if (await missingCudaProviderLibrary()) console.log('CPU only');
 */
export async function missingCudaProviderLibrary(): Promise<string | null> {
  if (typeof process === 'undefined' || process.platform !== 'linux') return null;
  try {
    const { createRequire } = await import('node:module');
    const { existsSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    const require = createRequire(import.meta.url);
    const binding = require.resolve('onnxruntime-node/package.json');
    const dir = join(dirname(binding), 'bin', 'napi-v6', process.platform, process.arch);
    return CUDA_PROVIDER_LIBS.find((lib) => !existsSync(join(dir, lib))) ?? null;
  } catch {
    return null;
  }
}

/** Explains a CUDA provider that failed to load, naming the missing library when it can tell which. */
export function describeCudaFailure(err: unknown, missing: string | null = null): string {
  const msg = err instanceof Error ? err.message : String(err);
  const lib = missing ?? /lib[\w.+-]+\.so[\d.]*/.exec(msg)?.[0];
  return (
    `the CUDA execution provider could not be loaded${lib ? ` (missing ${lib})` : ''}: ${msg.split('\n')[0]}\n` +
    "Install it as docs/gpu.md describes (the CUDA 12 provider through onnxruntime-node's installer, or the CUDA 13 build), " +
    'make the CUDA and cuDNN libraries visible through LD_LIBRARY_PATH, and check with `onnx-cil doctor`. ' +
    'Use --device cpu, or --device auto to fall back to the CPU.'
  );
}

function sessionOptions(opts: BackendOptions, providers: InferenceSession.ExecutionProviderConfig[]): InferenceSession.SessionOptions {
  // onnxruntime-node rejects keys that are present but undefined.
  const options: Record<string, unknown> = {
    executionProviders: providers,
    graphOptimizationLevel: opts.optimization ?? 'all',
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableProfiling: opts.enableProfiling,
    profileFilePrefix: opts.profilePrefix,
    logSeverityLevel: opts.logSeverityLevel ?? 3,
    ...opts.extra,
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return options as InferenceSession.SessionOptions;
}

/**
 * Creates an inference session for ONNX bytes on the chosen runtime and device.
 * @example const { session, ort } = await createBackend(bytes, { device: 'cpu', threads: 2 });
 */
export async function createBackend(model: Uint8Array, opts: BackendOptions = {}): Promise<Backend> {
  const runtime = opts.runtime ?? 'node';
  const ort = await loadRuntime(runtime);
  if (runtime === 'web') {
    const provider = opts.webProvider ?? 'wasm';
    if (opts.threads !== undefined) ort.env.wasm.numThreads = opts.threads;
    const session = await ort.InferenceSession.create(model, sessionOptions(opts, [provider]));
    return { ort, session, device: provider };
  }
  const device = opts.device ?? 'cpu';
  if (device === 'cpu') {
    return { ort, session: await ort.InferenceSession.create(model, sessionOptions(opts, ['cpu'])), device: 'cpu' };
  }
  // Without the provider libraries, onnxruntime would only log a native load error to stderr before failing; decide here.
  const missing = await missingCudaProviderLibrary();
  if (missing) {
    if (device === 'auto') return { ort, session: await ort.InferenceSession.create(model, sessionOptions(opts, ['cpu'])), device: 'cpu' };
    throw new Error(describeCudaFailure(new Error("onnxruntime-node's folder holds no CUDA provider"), missing));
  }
  const cuda: InferenceSession.CudaExecutionProviderOption = { name: 'cuda', deviceId: opts.deviceId ?? 0 };
  try {
    // onnxruntime still places nodes the CUDA provider lacks on its CPU provider, unless requireAllNodesOnDevice.
    const options = sessionOptions(opts, [cuda]);
    if (opts.requireAllNodesOnDevice) {
      (options as { extra?: Record<string, unknown> }).extra = { ...(options as { extra?: object }).extra, session: { disable_cpu_ep_fallback: '1' } };
    }
    const session = await ort.InferenceSession.create(model, options);
    return { ort, session, device: 'cuda' };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (opts.requireAllNodesOnDevice && /fallback|assigned|CPUExecutionProvider/i.test(msg) && !/Failed to load/i.test(msg)) {
      throw new Error(`some nodes cannot run on the CUDA provider: ${msg.split('\n')[0]}`);
    }
    if (device === 'auto') {
      return { ort, session: await ort.InferenceSession.create(model, sessionOptions(opts, ['cpu'])), device: 'cpu' };
    }
    throw new Error(describeCudaFailure(err, await missingCudaProviderLibrary()));
  }
}

export type FloatTensor = TypedTensor<'float32'>;
