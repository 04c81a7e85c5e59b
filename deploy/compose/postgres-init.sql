-- Run once by the postgres image on an empty data directory: one database per service
-- (DESIGN.md: a service touches only its own database). Migrations run at each
-- service's start.
CREATE DATABASE "order";
CREATE DATABASE payment;
CREATE DATABASE delivery;
CREATE DATABASE gateway;
