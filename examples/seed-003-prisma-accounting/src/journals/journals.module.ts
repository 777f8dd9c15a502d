import { Module } from '@nestjs/common';
import { JournalsController } from './journals.controller.js';
import { JournalService } from './journal.service.js';

@Module({ controllers: [JournalsController], providers: [JournalService] })
export class JournalsModule {}
