CREATE TABLE "files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"filename" varchar(255) NOT NULL,
	"content_type" varchar(100) NOT NULL,
	"size" bigint NOT NULL,
	"purpose" varchar(50),
	"object_key" varchar(255) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now(),
	"updated_at" timestamp with time zone DEFAULT now(),
	"deleted_at" timestamp with time zone,
	CONSTRAINT "files_object_key_unique" UNIQUE("object_key")
);
--> statement-breakpoint
CREATE TABLE "posts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"author_id" uuid NOT NULL,
	"title" varchar(200) NOT NULL,
	"slug" varchar(255) NOT NULL,
	"summary" varchar(500),
	"content" text NOT NULL,
	"status" varchar(20) DEFAULT 'draft' NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"cover_key" varchar(255),
	"published_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now(),
	"updated_at" timestamp with time zone DEFAULT now(),
	"deleted_at" timestamp with time zone,
	"search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(content, ''))) STORED,
	CONSTRAINT "posts_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE INDEX "ix_files_owner_id" ON "files" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "ix_files_deleted_at" ON "files" USING btree ("deleted_at");--> statement-breakpoint
CREATE INDEX "ix_posts_author_id" ON "posts" USING btree ("author_id");--> statement-breakpoint
CREATE INDEX "ix_posts_status_published_at" ON "posts" USING btree ("status","published_at");--> statement-breakpoint
CREATE INDEX "ix_posts_created_at" ON "posts" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "ix_posts_deleted_at" ON "posts" USING btree ("deleted_at");--> statement-breakpoint
CREATE INDEX "ix_posts_tags" ON "posts" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "ix_posts_search_vector" ON "posts" USING gin ("search_vector");