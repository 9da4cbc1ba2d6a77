CREATE TABLE `single_use_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`purpose` text NOT NULL,
	`user_id` text,
	`target` text,
	`data` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `single_use_tokens_token_hash_unique` ON `single_use_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `single_use_tokens_user_purpose_idx` ON `single_use_tokens` (`user_id`,`purpose`);--> statement-breakpoint
CREATE INDEX `single_use_tokens_expires_at_idx` ON `single_use_tokens` (`expires_at`);