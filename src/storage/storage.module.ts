import { Module } from '@nestjs/common';
import { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';

@Module({
  providers: [{ provide: ArtifactStore, useClass: LocalArtifactStore }],
  exports: [ArtifactStore],
})
export class StorageModule {}
