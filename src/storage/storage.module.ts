import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';
import { S3ArtifactStore } from './s3-artifact-store';

/** Binds ArtifactStore to the store ARTIFACT_STORE names. */
@Module({
  providers: [
    {
      provide: ArtifactStore,
      inject: [AppConfig],
      useFactory: (config: AppConfig): ArtifactStore =>
        config.storage.artifactStore === 's3' ? new S3ArtifactStore(config) : new LocalArtifactStore(config),
    },
  ],
  exports: [ArtifactStore],
})
export class StorageModule {}
