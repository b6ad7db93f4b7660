ALTER TABLE "stored_response_growth" DROP CONSTRAINT "stored_response_growth_user_id_users_id_fk";
