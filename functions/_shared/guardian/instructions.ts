/**
 * Text that reads as an instruction to the Guardian, in a photo's EXIF text fields, the text drawn
 * in its pixels (read at upload, pixel-text.ts), the operator's notes or its messages in the task's
 * thread. It stays data either way (the model sees it fenced); finding it sends the proof to review,
 * because an honest proof has no reason to address the judge. A sign that only names a shop ("Joe's
 * Pizza", "OPEN") is not an instruction. A photo whose pixels were read but whose text could not be
 * goes to review too: otherwise a photo made unreadable on purpose would pass unsearched.
 */
import { findings, outcome, photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

const INSTRUCTION_LIKE = [
  /\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(instructions?|prompts?|rules?|previous|above|system)\b/i,
  /(^|[\s"'(\[])(system|assistant|developer)\s*(prompt|message)?\s*:/i,
  /<\/?\s*(untrusted_data|system|instructions?)\b/i,
  /\b(approve|accept|pass)\b[^.\n]{0,40}\b(confidence|verdict|score)\b/i,
  /\b(confidence|verdict|decision)\b[^.\n]{0,20}\b(of|to|=|:|at)\s*("?approve|1?\d\d\b|1\.0)/i,
  /\b(guardian|ai|model|assistant|claude|llm|verifier)\b[^.\n]{0,30}\b(must|should|shall|will)\b[^.\n]{0,20}\b(approve|accept|pass|ignore)/i,
  /\byou are (now )?(a|an|the)\b[^.\n]{0,40}\b(assistant|ai|model|guardian|verifier)\b/i,
  /\brecord_verdict\b/i,
];

export const readsAsInstruction = (text: string) => INSTRUCTION_LIKE.some((pattern) => pattern.test(text));

/**
 * What words in a photo may say besides: a request to whoever judges it. No sign, screen or page at
 * a task's place says "approve this task"; an operator's notes may ("please approve this task"),
 * so this is read in the pixels only. It also holds when the reader misses a word ("SYSTEM:").
 */
const ADDRESSED_TO_JUDGE = /\b(approve|verify|pay)\s+(this|the|my)\s+(task|proof|submission|photo|picture|image|work)\b/i;

export const pixelsReadAsInstruction = (text: string) => readsAsInstruction(text) || ADDRESSED_TO_JUDGE.test(text);

export function instructionCheck(task: GuardianTask, photos: PhotoFacts[]): RuleCheck {
  const found = findings();
  const { notes, confirmationText } = task.proof;
  if (notes && readsAsInstruction(notes)) found.doubtful.push('The operator\'s notes read as an instruction to the Guardian rather than a description of the work');
  if (confirmationText && readsAsInstruction(confirmationText)) found.doubtful.push('The confirmation text reads as an instruction to the Guardian rather than a description of the work');
  if (task.thread?.some((m) => m.from === 'operator' && readsAsInstruction(m.text))) {
    found.doubtful.push('The operator\'s messages to the agent read as an instruction to the Guardian');
  }
  for (const p of photos) {
    for (const { field } of p.exif?.texts.filter((t) => readsAsInstruction(t.text)) ?? []) {
      found.doubtful.push(`${photo(p.number)} carries text in its ${field} field that reads as an instruction to the Guardian`);
    }
    if (p.text && pixelsReadAsInstruction(p.text)) {
      found.doubtful.push(`${photo(p.number)} shows written words that read as an instruction to the Guardian rather than the place or the work`);
    } else if (p.text === null && p.spread !== null) {
      // Pixels without text read: a progressive JPEG, or a reader that failed (image_content covers a photo not read at all).
      found.doubtful.push(`The words in ${photo(p.number)} could not be read, so a person should look at it`);
    }
  }
  return outcome('instruction_text', found, 'No text in the proof addresses the Guardian');
}
