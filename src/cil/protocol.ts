/**
 * Class-incremental protocols: which data, which class order, how many classes per phase and how each phase
 * trains. Protocols are validated configs; named presets live as YAML files in `presets/`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { packageRoot } from '../util/package-root.js';
import { deepFreeze, readOnlyMap } from '../util/read-only.js';
import { numpyLegacyPermutation } from '../util/rng.js';

/** How one phase trains: epochs and milestones are in epochs of that phase's training data. */
export const PhaseScheduleSchema = z.strictObject({
  epochs: z.number().positive(),
  batchSize: z.number().int().positive(),
  /** Base learning rate per parameter group. */
  lr: z.strictObject({ backbone: z.number().min(0), classifier: z.number().min(0) }),
  /** Epochs at which every rate is multiplied by `gamma`. */
  milestones: z.array(z.number().nonnegative()).default([]),
  gamma: z.number().positive().default(0.1),
  momentum: z.number().min(0).max(1),
  weightDecay: z.number().min(0),
  nesterov: z.boolean().default(false),
});
export type PhaseSchedule = z.infer<typeof PhaseScheduleSchema>;

/** A dataset registered in src/data by name, or a folder of images (one sub-folder per class). */
export const ProtocolDataSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('registered'), name: z.string() }),
  z.strictObject({
    kind: z.literal('image-folder'),
    /** Sub-folders of `--data` holding the training and test images. */
    trainDir: z.string().default('train'),
    testDir: z.string().default('val'),
    /** Every image is resized to this [height, width]. */
    imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    channels: z.union([z.literal(1), z.literal(3)]).default(3),
  }),
]);
export type ProtocolData = z.infer<typeof ProtocolDataSchema>;

export const ClassOrderSchema = z.discriminatedUnion('kind', [
  /** numpy.random.seed(seed); numpy.random.permutation(classes), as UCIR and PODNet. */
  z.strictObject({ kind: z.literal('numpy-permutation'), seed: z.number().int().min(0).default(1993) }),
  z.strictObject({ kind: z.literal('explicit'), classes: z.array(z.number().int().min(0)).min(1) }),
]);
export type ClassOrder = z.infer<typeof ClassOrderSchema>;

export const ProtocolSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    data: ProtocolDataSchema,
    model: z.string(),
    classOrder: ClassOrderSchema.default({ kind: 'numpy-permutation', seed: 1993 }),
    /** Classes learned in phase 0. */
    baseClasses: z.number().int().positive(),
    /** Classes added by each later phase. */
    increment: z.number().int().positive(),
    /** Number of later phases. */
    incrementalPhases: z.number().int().min(0),
    schedules: z.strictObject({ base: PhaseScheduleSchema, incremental: PhaseScheduleSchema }),
    /** BatchNorm in later phases: batch statistics (running statistics drift) or running statistics kept fixed. */
    laterPhaseBn: z.enum(['train', 'frozen']).default('frozen'),
    augmentation: z.strictObject({ padding: z.number().int().min(0), flip: z.boolean() }),
    seed: z.number().int().default(1),
    evalBatchSize: z.number().int().positive().default(256),
    /**
     * Set: hold out this fraction of every class's training images (stratified, seeded) and evaluate on them
     * instead of the test set, for choosing hyper-parameters; the model trains on the rest.
     */
    validationFraction: z.number().gt(0).lt(1).optional(),
    /**
     * Method settings chosen for this protocol (on its validation split), by method name, e.g.
     * `{ gauss: { priorStrength: 2000, shrinkage: 0.1 } }`: a run starts from them and `--method-config` overrides
     * them key by key. The run records the settings it resolved, not this map.
     */
    methodConfig: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  })
  .refine((p) => p.classOrder.kind !== 'explicit' || p.classOrder.classes.length >= p.baseClasses + p.increment * p.incrementalPhases, {
    message: 'the explicit class order lists fewer classes than baseClasses + increment * incrementalPhases',
  });
export type Protocol = z.infer<typeof ProtocolSchema>;

/** Folder holding the preset YAML files. */
export function presetsFolder(): string {
  return join(packageRoot(), 'presets');
}

function readPresets(): ReadonlyMap<string, Protocol> {
  const dir = presetsFolder();
  const entries = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => ['.yaml', '.yml'].includes(extname(f)))
        .sort()
    : [];
  const presets = new Map<string, Protocol>();
  for (const file of entries) {
    const name = basename(file, extname(file));
    const parsed = ProtocolSchema.safeParse(parseYaml(readFileSync(join(dir, file), 'utf8')));
    if (!parsed.success) throw new Error(`preset ${file} is invalid: ${z.prettifyError(parsed.error)}`);
    if (parsed.data.name !== name) throw new Error(`preset ${file} is named "${parsed.data.name}"; the file name and the name must agree`);
    presets.set(name, deepFreeze(parsed.data));
  }
  return readOnlyMap(presets);
}

let presetCache: ReadonlyMap<string, Protocol> | undefined;

/** Every preset protocol by name (read once from presets/*.yaml; read-only, presets included: `loadProtocol` gives copies to change). */
export function protocolPresets(): ReadonlyMap<string, Protocol> {
  presetCache ??= readPresets();
  return presetCache;
}

/**
 * A preset by name, or a protocol file (YAML or JSON) by path; unknown names list the known presets.
 * @example const protocol = loadProtocol('fmnist-mini-b5-p5');
 */
export function loadProtocol(nameOrPath: string): Protocol {
  const preset = protocolPresets().get(nameOrPath);
  if (preset) return structuredClone(preset);
  if (/\.(ya?ml|json)$/.test(nameOrPath) && existsSync(nameOrPath)) {
    const parsed = ProtocolSchema.safeParse(parseYaml(readFileSync(nameOrPath, 'utf8')));
    if (!parsed.success) throw new Error(`protocol ${nameOrPath} is invalid: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }
  throw new Error(`unknown preset "${nameOrPath}"; known presets: ${[...protocolPresets().keys()].join(', ')} (or give a .yaml/.json protocol file)`);
}

/**
 * Dataset labels in learning order.
 * @example resolveClassOrder({ kind: 'numpy-permutation', seed: 1993 }, 10); // [4, 2, 7, 6, 0, 3, 5, 8, 9, 1]
 */
export function resolveClassOrder(order: ClassOrder, classCount: number): number[] {
  if (order.kind === 'numpy-permutation') return Array.from(numpyLegacyPermutation(classCount, order.seed));
  const seen = new Set<number>();
  for (const c of order.classes) {
    if (c >= classCount) throw new Error(`class order entry ${c} is outside the dataset's 0..${classCount - 1}`);
    if (seen.has(c)) throw new Error(`class ${c} appears twice in the class order`);
    seen.add(c);
  }
  return [...order.classes];
}

/**
 * The class groups of a protocol: group 0 = the base classes, group k = the classes added by phase k.
 * @example phaseGroups(protocol, order); // [[68, 56, ...50 labels], [...10], ...]
 */
export function phaseGroups(protocol: Pick<Protocol, 'baseClasses' | 'increment' | 'incrementalPhases'>, order: readonly number[]): number[][] {
  const needed = protocol.baseClasses + protocol.increment * protocol.incrementalPhases;
  if (needed > order.length) {
    throw new Error(
      `the protocol needs ${needed} classes (${protocol.baseClasses} + ${protocol.incrementalPhases} x ${protocol.increment}); the data has ${order.length}`,
    );
  }
  const groups = [order.slice(0, protocol.baseClasses)];
  for (let k = 0; k < protocol.incrementalPhases; k++) {
    const start = protocol.baseClasses + k * protocol.increment;
    groups.push(order.slice(start, start + protocol.increment));
  }
  return groups;
}

/** A phase's schedule in iterations, after `--epochs-scale`. */
export interface ScaledSchedule {
  /** Optimisation steps of the phase (at least 1). */
  iterations: number;
  /** Iterations at which the rates are multiplied by gamma. */
  milestones: number[];
  /** Epochs the loop starts (the last may be cut short). */
  epochs: number;
  batchesPerEpoch: number;
}

/**
 * Scales epochs and milestones by `scale` in iterations, rounded; a phase keeps at least one iteration.
 * @example scaleSchedule({ epochs: 6, milestones: [4], ... }, 10, 0.25); // { iterations: 15, milestones: [10], epochs: 2, ... }
 */
export function scaleSchedule(schedule: Pick<PhaseSchedule, 'epochs' | 'milestones'>, batchesPerEpoch: number, scale: number): ScaledSchedule {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`--epochs-scale must be a positive number, got ${scale}`);
  if (!Number.isInteger(batchesPerEpoch) || batchesPerEpoch < 1) throw new Error(`a phase needs at least one batch per epoch, got ${batchesPerEpoch}`);
  const iterations = Math.max(1, Math.round(schedule.epochs * scale * batchesPerEpoch));
  const milestones = schedule.milestones.map((m) => Math.round(m * scale * batchesPerEpoch));
  return { iterations, milestones, epochs: Math.ceil(iterations / batchesPerEpoch), batchesPerEpoch };
}
