import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { OipModule } from '../oip.module';
import { GrpcAccess } from './grpc-access';
import { OipGrpcServer } from './oip-grpc.server';
import { OipGrpcServicer } from './oip-grpc.servicer';

/** The Open Inference Protocol over gRPC (GRPC_PORT), on the data plane of OipModule. API role only. */
@Module({
  imports: [AuthModule, OipModule],
  providers: [GrpcAccess, OipGrpcServicer, OipGrpcServer],
})
export class OipGrpcModule {}
