CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`time` integer NOT NULL,
	`type` text NOT NULL,
	`user_id` text,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`ip` text,
	`user_agent` text,
	`request_id` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_time_idx` ON `audit_events` (`time`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_user_time_idx` ON `audit_events` (`user_id`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_type_time_idx` ON `audit_events` (`type`,`time`,`id`);