SELECT
  "t9"."customer_id",
  DATE_DIFF('DAY', CAST("t9"."last_order_at" AS DATE), MAKE_DATE(2024, 3, 1)) AS "recency_days",
  COALESCE(COALESCE("t9"."frequency", 0), 0) AS "frequency",
  COALESCE(
    CAST(CAST(ROUND(COALESCE("t9"."monetary", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
    0.0
  ) AS "monetary_total",
  CASE
    WHEN COALESCE("t9"."frequency", 0) > 0
    THEN CAST(CAST(ROUND((
      COALESCE("t9"."monetary", 0.0) / COALESCE("t9"."frequency", 0)
    ) * 100, 0) AS BIGINT) AS DOUBLE) / 100
    ELSE NULL
  END AS "avg_order_value",
  DATE_DIFF('DAY', CAST("t9"."first_order_at" AS DATE), MAKE_DATE(2024, 3, 1)) AS "tenure_days",
  "t9"."first_order_at",
  "t9"."last_order_at",
  "t9"."ipt_mean" AS "interpurchase_mean_days",
  "t9"."ipt_std" AS "interpurchase_std_days",
  COALESCE(
    CAST(CAST(ROUND(COALESCE("t9"."rev_last", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
    0.0
  ) AS "revenue_last_90d",
  COALESCE(
    CAST(CAST(ROUND(COALESCE("t9"."rev_prev", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
    0.0
  ) AS "revenue_prev_90d",
  "t9"."n_discounted" / NULLIF("t9"."n_purchase", 0) AS "discount_share",
  "t9"."discount_sum" / NULLIF("t9"."spend" + "t9"."discount_sum", 0) AS "discount_rate",
  "t9"."n_returned" / NULLIF("t9"."n_purchase", 0) AS "return_rate",
  "t9"."cat_books" / NULLIF("t9"."spend", 0) AS "cat_books_share",
  "t9"."cat_toys" / NULLIF("t9"."spend", 0) AS "cat_toys_share",
  "t9"."cat_other" / NULLIF("t9"."spend", 0) AS "cat_other_share"
FROM (
  SELECT
    "t5"."customer_id",
    "t5"."monetary",
    "t5"."first_order_at",
    "t5"."last_order_at",
    "t5"."rev_last",
    "t5"."rev_prev",
    "t5"."n_purchase",
    "t5"."n_discounted",
    "t5"."n_returned",
    "t5"."discount_sum",
    "t5"."spend",
    "t5"."cat_books",
    "t5"."cat_toys",
    "t5"."cat_other",
    "t8"."frequency",
    "t8"."ipt_mean",
    "t8"."ipt_std"
  FROM (
    SELECT
      "t2"."customer_id",
      CAST(SUM(CAST("t2"."r_amount" AS DECIMAL(38, 6))) AS DOUBLE) AS "monetary",
      MIN("t2"."p_time") AS "first_order_at",
      MAX("t2"."p_time") AS "last_order_at",
      CAST(SUM(
        CAST(CASE
          WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
          THEN "t2"."r_amount"
          ELSE NULL
        END AS DECIMAL(38, 6))
      ) AS DOUBLE) AS "rev_last",
      CAST(SUM(
        CAST(CASE
          WHEN (
            "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
          )
          AND (
            "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
          )
          THEN "t2"."r_amount"
          ELSE NULL
        END AS DECIMAL(38, 6))
      ) AS DOUBLE) AS "rev_prev",
      COUNT("t2"."p_time") AS "n_purchase",
      COUNT(*) FILTER(WHERE
        "t2"."p_discount" > 0) AS "n_discounted",
      COUNT(*) FILTER(WHERE
        COALESCE("t2"."returned", FALSE)) AS "n_returned",
      SUM("t2"."p_discount") AS "discount_sum",
      SUM("t2"."p_amount") AS "spend",
      SUM(CASE WHEN "t2"."category" = 'books' THEN "t2"."p_amount" ELSE 0.0 END) AS "cat_books",
      SUM(CASE WHEN "t2"."category" = 'toys' THEN "t2"."p_amount" ELSE 0.0 END) AS "cat_toys",
      SUM(
        CASE
          WHEN COALESCE("t2"."category" IN ('books', 'toys'), FALSE)
          THEN 0.0
          ELSE "t2"."p_amount"
        END
      ) AS "cat_other"
    FROM (
      SELECT
        "t0"."customer_id",
        "t0"."order_id",
        "t0"."ordered_at",
        "t0"."amount",
        "t0"."status",
        0.0 AS "discount",
        FALSE AS "returned",
        "t0"."category",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN "t0"."amount"
          ELSE CAST(NULL AS DOUBLE)
        END AS "p_amount",
        CASE
          WHEN COALESCE((
            "t0"."status" = 'paid'
          ) OR (
            "t0"."amount" < 0
          ), FALSE)
          THEN "t0"."amount"
          ELSE CAST(NULL AS DOUBLE)
        END AS "r_amount",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN COALESCE(0.0, 0.0)
          ELSE CAST(NULL AS DOUBLE)
        END AS "p_discount",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN "t0"."ordered_at"
          ELSE CAST(NULL AS TIMESTAMP)
        END AS "p_time"
      FROM "orders" AS "t0"
      WHERE
        "t0"."customer_id" IS NOT NULL
        AND "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 3, 1, 0, 0, 0.0)
    ) AS "t2"
    GROUP BY
      1
  ) AS "t5"
  LEFT OUTER JOIN (
    SELECT
      "t6"."customer_id",
      COUNT(*) AS "frequency",
      AVG("t6"."gap") AS "ipt_mean",
      STDDEV_SAMP("t6"."gap") AS "ipt_std"
    FROM (
      SELECT
        "t3"."customer_id",
        "t3"."order_id",
        "t3"."start",
        CAST(EPOCH(CAST("t3"."start" AS TIMESTAMP)) - EPOCH(
          CAST(LAG("t3"."start") OVER (
            PARTITION BY "t3"."customer_id"
            ORDER BY "t3"."start" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS TIMESTAMP)
        ) AS DOUBLE) / 86400 AS "gap"
      FROM (
        SELECT
          "t1"."customer_id",
          "t1"."order_id",
          MIN("t1"."ordered_at") AS "start"
        FROM (
          SELECT
            "t0"."customer_id",
            "t0"."order_id",
            "t0"."ordered_at",
            "t0"."amount",
            "t0"."status",
            0.0 AS "discount",
            FALSE AS "returned",
            "t0"."category"
          FROM "orders" AS "t0"
          WHERE
            "t0"."customer_id" IS NOT NULL
            AND "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 3, 1, 0, 0, 0.0)
            AND COALESCE("t0"."status" IN ('paid', 'refunded') AND (
              "t0"."amount" >= 0
            ), FALSE)
            AND "t0"."order_id" IS NOT NULL
        ) AS "t1"
        GROUP BY
          1,
          2
      ) AS "t3"
    ) AS "t6"
    GROUP BY
      1
  ) AS "t8"
    ON "t5"."customer_id" = "t8"."customer_id"
) AS "t9"
ORDER BY
  "t9"."customer_id" ASC
