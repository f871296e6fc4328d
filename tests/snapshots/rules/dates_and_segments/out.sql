SELECT
  "t0"."customer_id",
  CASE
    WHEN COALESCE(CAST("t0"."last_order_at" AS DATE) < MAKE_DATE(2023, 12, 31), FALSE)
    OR COALESCE(CAST("t0"."last_order_at" AS DATE) < MAKE_DATE(2023, 1, 1), FALSE)
    THEN 'Dormant'
    WHEN COALESCE("t0"."signup_at" > MAKE_DATE(2024, 6, 30), FALSE)
    AND COALESCE("t0"."country" IN ('DE', 'AT'), FALSE)
    THEN 'New'
    WHEN COALESCE(
      CAST("t0"."last_order_at" AS DATE) BETWEEN MAKE_DATE(2024, 10, 2) AND MAKE_DATE(2024, 12, 31),
      FALSE
    )
    AND NOT (
      COALESCE("t0"."signup_at" > MAKE_DATE(2024, 6, 30), FALSE)
      AND COALESCE("t0"."country" IN ('DE', 'AT'), FALSE)
    )
    THEN 'Active'
    WHEN (
      "t0"."email" IS NOT NULL
    )
    AND NOT (
      COALESCE(CAST("t0"."last_order_at" AS DATE) < MAKE_DATE(2023, 12, 31), FALSE)
      OR COALESCE(CAST("t0"."last_order_at" AS DATE) < MAKE_DATE(2023, 1, 1), FALSE)
      OR (
        COALESCE(
          CAST("t0"."last_order_at" AS DATE) BETWEEN MAKE_DATE(2024, 10, 2) AND MAKE_DATE(2024, 12, 31),
          FALSE
        )
        AND NOT (
          COALESCE("t0"."signup_at" > MAKE_DATE(2024, 6, 30), FALSE)
          AND COALESCE("t0"."country" IN ('DE', 'AT'), FALSE)
        )
      )
    )
    THEN 'Win back'
    ELSE 'Other'
  END AS "segment"
FROM "customer_features" AS "t0"
