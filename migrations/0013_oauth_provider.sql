CREATE TABLE `oauth_clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`client_name` text NOT NULL,
	`type` text NOT NULL,
	`registration` text NOT NULL,
	`secret_hash` text,
	`token_endpoint_auth_method` text NOT NULL,
	`redirect_uris` text NOT NULL,
	`grant_types` text NOT NULL,
	`scope` text,
	`first_party` integer DEFAULT false NOT NULL,
	`metadata` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_used_at` integer,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `oauth_clients_registration_idx` ON `oauth_clients` (`registration`,`last_used_at`);--> statement-breakpoint
CREATE TABLE `oauth_consents` (
	`user_id` text NOT NULL,
	`client_id` text NOT NULL,
	`scope` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	PRIMARY KEY(`user_id`, `client_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`client_id`) REFERENCES `oauth_clients`(`client_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `oauth_consents_client_id_idx` ON `oauth_consents` (`client_id`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `kind` text DEFAULT 'api' NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `client_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `scope` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `resource` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `auth_time` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `code_id` text;--> statement-breakpoint
CREATE INDEX `sessions_code_id_idx` ON `sessions` (`code_id`);