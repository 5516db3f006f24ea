import { Module } from '@nestjs/common';
import { StorageModule } from '../storage/storage.module';
import { InferenceService } from './inference.service';

/** The engine: InferenceService owns the inference processes; models are read from the ArtifactStore. */
@Module({
  imports: [StorageModule],
  providers: [InferenceService],
  exports: [InferenceService],
})
export class InferenceModule {}
