/**
 * Providers both processes need: validated configuration, the registry (DataSource with migrations applied),
 * and the artifact store (bucket ensured). Imported once by the API's and the worker's root modules.
 */
import { Global, Inject, Logger, Module } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ArtifactStore } from '../artifacts';
import { APP_CONFIG, loadConfig } from '../config';
import type { AppConfig } from '../config';
import { openRegistry, RegistryService } from '../registry';

@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: (): AppConfig => loadConfig() },
    {
      provide: DataSource,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => openRegistry(config.db),
    },
    { provide: RegistryService, inject: [DataSource], useFactory: (ds: DataSource) => new RegistryService(ds) },
    {
      provide: ArtifactStore,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const store = new ArtifactStore(config.s3);
        await store.ensureBucket();
        return store;
      },
    },
  ],
  exports: [APP_CONFIG, DataSource, RegistryService, ArtifactStore],
})
export class CoreModule implements OnApplicationShutdown {
  private readonly logger = new Logger(CoreModule.name);
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
      this.logger.log('registry connection closed');
    }
  }
}
