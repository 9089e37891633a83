/**
 * Recognises the quick-exit gesture: Shift pressed three times in a row (no other key in
 * between, each press within `windowMs` of the previous one). Typing a capital letter (Shift
 * then a letter) never counts, and a held Shift (key repeat) counts once.
 */
export class ShiftTripleDetector {
  private count_ = 0;
  private last_ = 0;
  constructor(private readonly windowMs = 700) {}

  /** Feeds one keydown; true when it completes the gesture. */
  keydown(key: string, repeat: boolean, timeMs: number): boolean {
    if (key !== 'Shift') {
      this.count_ = 0;
      return false;
    }
    if (repeat) return false;
    this.count_ = timeMs - this.last_ <= this.windowMs ? this.count_ + 1 : 1;
    this.last_ = timeMs;
    if (this.count_ >= 3) {
      this.count_ = 0;
      return true;
    }
    return false;
  }
}
