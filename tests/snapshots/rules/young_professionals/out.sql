SELECT
  "t0"."customer_id",
  CASE
    WHEN COALESCE("t0"."age" BETWEEN 22 AND 35, FALSE)
    AND COALESCE("t0"."income" > 50000, FALSE)
    THEN 'Young Professionals'
    WHEN COALESCE("t0"."children" > 0, FALSE)
    THEN 'Families'
    ELSE 'Other'
  END AS "segment"
FROM "customer_features" AS "t0"
