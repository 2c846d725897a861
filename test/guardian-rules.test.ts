// The Guardian's rule checks and verdict arithmetic, as units (no stack needed).
import { describe, expect, it } from 'vitest';
import { readExif, runRuleChecks } from '../functions/_shared/guardian/rules.ts';
import type { GuardianTask, ProofImage } from '../functions/_shared/guardian/types.ts';
import { combineVerdict } from '../functions/_shared/guardian/verdict.ts';
import { makeJpeg } from './helpers/images.ts';

const accepted = new Date('2026-11-28T10:00:00Z');
const submitted = new Date('2026-11-28T12:00:00Z');
const task = (overrides: Partial<GuardianTask> = {}): GuardianTask => ({
  id: 'task_x', title: 'Verify storefront', description: 'Photo of the sign', taskType: 'VERIFICATION', taskDomain: 'PHYSICAL',
  proofType: 'PHOTO', proofRequirements: ['Photo of storefront sign'], digitalInstructions: null,
  location: { lat: 40.7128, lng: -74.006, address: '123 Main St' }, acceptedAt: accepted, submittedAt: submitted,
  proof: { photos: ['a.jpg'], notes: null, confirmationText: null, referenceUrl: null, hasArtifact: false },
  ...overrides,
});
const image = (bytes: Uint8Array | null, path = 'a.jpg'): ProofImage => ({ path, bytes, contentType: 'image/jpeg' });
const failed = (checks: { check: string; passed: boolean; hard: boolean }[]) => checks.filter((c) => !c.passed && c.hard).map((c) => c.check);

describe('EXIF', () => {
  it('reads GPS and a zoned capture time written by piexifjs', async () => {
    const exif = await readExif(makeJpeg({ lat: 40.7128, lng: -74.006, takenAt: new Date('2026-11-28T11:00:00Z'), offset: '-05:00' }));
    expect(exif).toMatchObject({ zoned: true });
    expect(exif!.lat).toBeCloseTo(40.7128, 4);
    expect(exif!.lng).toBeCloseTo(-74.006, 4);
    expect(exif!.takenAt!.toISOString()).toBe('2026-11-28T11:00:00.000Z');
  });

  it('is null for an image without EXIF and for bytes that are not an image', async () => {
    expect(await readExif(makeJpeg())).toBeNull();
    expect(await readExif(new TextEncoder().encode('not an image'))).toBeNull();
  });
});

describe('rule checks', () => {
  it('pass for a photo taken at the place, while the task was held', async () => {
    const checks = await runRuleChecks(task(), [image(makeJpeg({ lat: 40.7130, lng: -74.0062, takenAt: new Date('2026-11-28T11:00:00Z') }))], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual(['proof_type', 'images_exist', 'image_count', 'gps_location', 'capture_time']);
  });

  it('fail hard for a photo taken far away', async () => {
    const checks = await runRuleChecks(task(), [image(makeJpeg({ lat: 34.05, lng: -118.24 }))], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual(['gps_location']);
    expect(checks.find((c) => c.check === 'gps_location')!.note).toMatch(/taken 3\d{3}\.\d\d km from the task location/);
  });

  it('fail hard for a photo taken before the task was accepted', async () => {
    const checks = await runRuleChecks(task(), [image(makeJpeg({ takenAt: new Date('2026-11-20T11:00:00Z') }))], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual(['capture_time']);
  });

  it('allow ±14 h when the capture time has no zone, and 5 min when it has one', async () => {
    const eightHoursLate = new Date('2026-11-28T20:00:00Z');
    const unzoned = await runRuleChecks(task(), [image(makeJpeg({ takenAt: eightHoursLate, offset: null }))], { gpsRadiusKm: 1 });
    expect(failed(unzoned)).toEqual([]);
    const zoned = await runRuleChecks(task(), [image(makeJpeg({ takenAt: eightHoursLate, offset: '+02:00' }))], { gpsRadiusKm: 1 });
    expect(failed(zoned)).toEqual(['capture_time']);
  });

  it('ask no image of a CONFIRMATION task, whatever its requirements say', async () => {
    const confirmation = task({
      taskType: 'FORM_FILLING', taskDomain: 'DIGITAL', proofType: 'CONFIRMATION', location: null,
      proofRequirements: ['Screenshot of the submitted form'],
      proof: { photos: [], notes: null, confirmationText: 'Submitted, reference AX-1042', referenceUrl: 'https://example.com/ok', hasArtifact: false },
    });
    const checks = await runRuleChecks(confirmation, [], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual(['confirmation_text']);
    const screenshot = await runRuleChecks({ ...confirmation, proofType: 'SCREENSHOT' }, [], { gpsRadiusKm: 1 });
    expect(failed(screenshot)).toEqual(['proof_type', 'image_count']);
  });

  it('fail hard for missing files and for files that are not images', async () => {
    const checks = await runRuleChecks(task({ proof: { ...task().proof, photos: ['a.jpg', 'b.jpg'] } }),
      [image(null, 'a.jpg'), image(new TextEncoder().encode('<svg/>'), 'b.jpg')], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual(['images_exist', 'image_count']);
  });

  it('require GPS data when a requirement asks for a GPS-stamped image', async () => {
    const checks = await runRuleChecks(task({ proofRequirements: ['Photo of storefront sign', 'GPS-stamped image'] }), [image(makeJpeg())], { gpsRadiusKm: 1 });
    expect(failed(checks)).toEqual(['gps_location']);
    const relaxed = await runRuleChecks(task(), [image(makeJpeg())], { gpsRadiusKm: 1 });
    expect(failed(relaxed)).toEqual([]);
  });

  it('check the proof type: confirmation text, artifact', async () => {
    const confirmation = task({ taskDomain: 'DIGITAL', location: null, proofType: 'CONFIRMATION', proofRequirements: ['Written assessment'], proof: { ...task().proof, photos: [] } });
    expect(failed(await runRuleChecks(confirmation, [], { gpsRadiusKm: 1 }))).toEqual(['confirmation_text']);
    const artifact = task({ taskDomain: 'DIGITAL', location: null, proofType: 'ARTIFACT', proofRequirements: ['API key'], proof: { ...task().proof, photos: [], hasArtifact: true } });
    expect(failed(await runRuleChecks(artifact, [], { gpsRadiusKm: 1 }))).toEqual([]);
  });
});

describe('combining a verdict', () => {
  const thresholds = { approve: 90, review: 50 };
  const judgement = (confidence: number) => ({ confidence, reasoning: 'ok', requirementResults: [{ requirement: 'r', met: true, note: '' }] });
  const ok = [{ check: 'proof_type', passed: true, hard: true, note: '' }];
  const bad = [{ check: 'gps_location', passed: false, hard: true, note: 'far away' }];

  it.each([[49, 'REJECT'], [50, 'MANUAL_REVIEW'], [89, 'MANUAL_REVIEW'], [90, 'APPROVE'], [100, 'APPROVE']])(
    'confidence %i → %s', (confidence, decision) => {
      expect(combineVerdict(ok, judgement(confidence), ['r'], thresholds, 'm').decision).toBe(decision);
    });

  it('a failed hard check caps the confidence below approval, with the reason', () => {
    const verdict = combineVerdict(bad, judgement(97), ['r'], thresholds, 'm');
    expect(verdict).toMatchObject({ decision: 'MANUAL_REVIEW', confidence: 89 });
    expect(verdict.reasoning).toContain('far away');
  });

  it('without a model never approves: manual review, or a dispute when a hard check fails', () => {
    expect(combineVerdict(ok, null, ['r'], thresholds, null)).toMatchObject({ decision: 'MANUAL_REVIEW', confidence: 70 });
    expect(combineVerdict(bad, null, ['r'], thresholds, null)).toMatchObject({ decision: 'REJECT', confidence: 20 });
  });

  it('a refusal goes to a person', () => {
    expect(combineVerdict(ok, { ...judgement(0), refused: true }, ['r'], thresholds, 'm').decision).toBe('MANUAL_REVIEW');
  });
});
