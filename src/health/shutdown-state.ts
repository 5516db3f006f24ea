import { Injectable } from '@nestjs/common';

/** Set once when shutdown begins; readiness answers 503 from that moment. */
@Injectable()
export class ShutdownState {
  private draining = false;

  begin(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
