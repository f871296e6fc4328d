SELECT
  `t9`.`customer_id`,
  DATEDIFF(DAY, CAST(`t9`.`last_order_at` AS DATE), MAKE_DATE(2024, 3, 1)) AS `recency_days`,
  COALESCE(COALESCE(`t9`.`frequency`, 0), 0) AS `frequency`,
  COALESCE(
    IF(
      ABS(COALESCE(`t9`.`monetary`, 0.0)) < 10000000000000.0,
      CAST(CAST(ROUND(COALESCE(`t9`.`monetary`, 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
      COALESCE(`t9`.`monetary`, 0.0)
    ),
    0.0
  ) AS `monetary_total`,
  IF(
    COALESCE(`t9`.`frequency`, 0) > 0,
    IF(
      ABS(COALESCE(`t9`.`monetary`, 0.0) / COALESCE(`t9`.`frequency`, 0)) < 10000000000000.0,
      CAST(CAST(ROUND((
        COALESCE(`t9`.`monetary`, 0.0) / COALESCE(`t9`.`frequency`, 0)
      ) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
      COALESCE(`t9`.`monetary`, 0.0) / COALESCE(`t9`.`frequency`, 0)
    ),
    NULL
  ) AS `avg_order_value`,
  DATEDIFF(DAY, CAST(`t9`.`first_order_at` AS DATE), MAKE_DATE(2024, 3, 1)) AS `tenure_days`,
  `t9`.`first_order_at`,
  `t9`.`last_order_at`,
  `t9`.`ipt_mean` AS `interpurchase_mean_days`,
  `t9`.`ipt_std` AS `interpurchase_std_days`,
  COALESCE(
    IF(
      ABS(COALESCE(`t9`.`rev_last`, 0.0)) < 10000000000000.0,
      CAST(CAST(ROUND(COALESCE(`t9`.`rev_last`, 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
      COALESCE(`t9`.`rev_last`, 0.0)
    ),
    0.0
  ) AS `revenue_last_90d`,
  COALESCE(
    IF(
      ABS(COALESCE(`t9`.`rev_prev`, 0.0)) < 10000000000000.0,
      CAST(CAST(ROUND(COALESCE(`t9`.`rev_prev`, 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100,
      COALESCE(`t9`.`rev_prev`, 0.0)
    ),
    0.0
  ) AS `revenue_prev_90d`,
  `t9`.`n_discounted` / NULLIF(`t9`.`n_purchase`, 0) AS `discount_share`,
  `t9`.`discount_sum` / NULLIF(`t9`.`spend` + `t9`.`discount_sum`, 0) AS `discount_rate`,
  `t9`.`n_returned` / NULLIF(`t9`.`n_purchase`, 0) AS `return_rate`,
  `t9`.`cat_books` / NULLIF(`t9`.`spend`, 0) AS `cat_books_share`,
  `t9`.`cat_toys` / NULLIF(`t9`.`spend`, 0) AS `cat_toys_share`,
  `t9`.`cat_other` / NULLIF(`t9`.`spend`, 0) AS `cat_other_share`
FROM (
  SELECT
    `t8`.`customer_id`,
    `t8`.`monetary`,
    `t8`.`first_order_at`,
    `t8`.`last_order_at`,
    `t8`.`rev_last`,
    `t8`.`rev_prev`,
    `t8`.`n_purchase`,
    `t8`.`n_discounted`,
    `t8`.`n_returned`,
    `t8`.`discount_sum`,
    `t8`.`spend`,
    `t8`.`cat_books`,
    `t8`.`cat_toys`,
    `t8`.`cat_other`,
    `t6`.`frequency`,
    `t6`.`ipt_mean`,
    `t6`.`ipt_std`
  FROM (
    SELECT
      `t2`.`customer_id`,
      IF(
        (
          SUM(
            CAST(IF(COALESCE(ABS(`t2`.`r_amount`) < 1000000000000.0, FALSE), `t2`.`r_amount`, NULL) AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            IF(COALESCE(ABS(`t2`.`r_amount`) < 1000000000000.0, FALSE), NULL, `t2`.`r_amount`)
          ) IS NULL
          OR ISNAN(
            SUM(
              IF(COALESCE(ABS(`t2`.`r_amount`) < 1000000000000.0, FALSE), NULL, `t2`.`r_amount`)
            )
          )
        ),
        CAST(NULL AS DOUBLE),
        COALESCE(
          CAST(SUM(
            CAST(IF(COALESCE(ABS(`t2`.`r_amount`) < 1000000000000.0, FALSE), `t2`.`r_amount`, NULL) AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            IF(COALESCE(ABS(`t2`.`r_amount`) < 1000000000000.0, FALSE), NULL, `t2`.`r_amount`)
          ),
          0.0
        )
      ) AS `monetary`,
      MIN(`t2`.`p_time`) AS `first_order_at`,
      MAX(`t2`.`p_time`) AS `last_order_at`,
      IF(
        (
          SUM(
            CAST(IF(
              COALESCE(
                ABS(
                  IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
                ) < 1000000000000.0,
                FALSE
              ),
              IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL),
              NULL
            ) AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            IF(
              COALESCE(
                ABS(
                  IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
                ) < 1000000000000.0,
                FALSE
              ),
              NULL,
              IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
            )
          ) IS NULL
          OR ISNAN(
            SUM(
              IF(
                COALESCE(
                  ABS(
                    IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
                  ) < 1000000000000.0,
                  FALSE
                ),
                NULL,
                IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
              )
            )
          )
        ),
        CAST(NULL AS DOUBLE),
        COALESCE(
          CAST(SUM(
            CAST(IF(
              COALESCE(
                ABS(
                  IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
                ) < 1000000000000.0,
                FALSE
              ),
              IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL),
              NULL
            ) AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            IF(
              COALESCE(
                ABS(
                  IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
                ) < 1000000000000.0,
                FALSE
              ),
              NULL,
              IF(`t2`.`ordered_at` > CAST('2023-12-02T00:00:00' AS TIMESTAMP), `t2`.`r_amount`, NULL)
            )
          ),
          0.0
        )
      ) AS `rev_last`,
      IF(
        (
          SUM(
            CAST(IF(
              COALESCE(
                ABS(
                  IF(
                    (
                      `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                    )
                    AND (
                      `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                    ),
                    `t2`.`r_amount`,
                    NULL
                  )
                ) < 1000000000000.0,
                FALSE
              ),
              IF(
                (
                  `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                )
                AND (
                  `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                ),
                `t2`.`r_amount`,
                NULL
              ),
              NULL
            ) AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            IF(
              COALESCE(
                ABS(
                  IF(
                    (
                      `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                    )
                    AND (
                      `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                    ),
                    `t2`.`r_amount`,
                    NULL
                  )
                ) < 1000000000000.0,
                FALSE
              ),
              NULL,
              IF(
                (
                  `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                )
                AND (
                  `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                ),
                `t2`.`r_amount`,
                NULL
              )
            )
          ) IS NULL
          OR ISNAN(
            SUM(
              IF(
                COALESCE(
                  ABS(
                    IF(
                      (
                        `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                      )
                      AND (
                        `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                      ),
                      `t2`.`r_amount`,
                      NULL
                    )
                  ) < 1000000000000.0,
                  FALSE
                ),
                NULL,
                IF(
                  (
                    `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                  )
                  AND (
                    `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                  ),
                  `t2`.`r_amount`,
                  NULL
                )
              )
            )
          )
        ),
        CAST(NULL AS DOUBLE),
        COALESCE(
          CAST(SUM(
            CAST(IF(
              COALESCE(
                ABS(
                  IF(
                    (
                      `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                    )
                    AND (
                      `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                    ),
                    `t2`.`r_amount`,
                    NULL
                  )
                ) < 1000000000000.0,
                FALSE
              ),
              IF(
                (
                  `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                )
                AND (
                  `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                ),
                `t2`.`r_amount`,
                NULL
              ),
              NULL
            ) AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            IF(
              COALESCE(
                ABS(
                  IF(
                    (
                      `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                    )
                    AND (
                      `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                    ),
                    `t2`.`r_amount`,
                    NULL
                  )
                ) < 1000000000000.0,
                FALSE
              ),
              NULL,
              IF(
                (
                  `t2`.`ordered_at` > CAST('2023-09-03T00:00:00' AS TIMESTAMP)
                )
                AND (
                  `t2`.`ordered_at` <= CAST('2023-12-02T00:00:00' AS TIMESTAMP)
                ),
                `t2`.`r_amount`,
                NULL
              )
            )
          ),
          0.0
        )
      ) AS `rev_prev`,
      COUNT(`t2`.`p_time`) AS `n_purchase`,
      SUM(CAST(`t2`.`p_discount` > 0 AS BIGINT)) AS `n_discounted`,
      SUM(CAST(COALESCE(`t2`.`returned`, FALSE) AS BIGINT)) AS `n_returned`,
      SUM(`t2`.`p_discount`) AS `discount_sum`,
      SUM(`t2`.`p_amount`) AS `spend`,
      SUM(IF(`t2`.`category` = 'books', `t2`.`p_amount`, 0.0)) AS `cat_books`,
      SUM(IF(`t2`.`category` = 'toys', `t2`.`p_amount`, 0.0)) AS `cat_toys`,
      SUM(IF(COALESCE(`t2`.`category` IN ('books', 'toys'), FALSE), 0.0, `t2`.`p_amount`)) AS `cat_other`
    FROM (
      SELECT
        `t0`.`customer_id`,
        `t0`.`order_id`,
        `t0`.`ordered_at`,
        `t0`.`amount`,
        `t0`.`status`,
        0.0 AS `discount`,
        FALSE AS `returned`,
        `t0`.`category`,
        IF(
          COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
            `t0`.`amount` >= 0
          ), FALSE),
          `t0`.`amount`,
          CAST(NULL AS DOUBLE)
        ) AS `p_amount`,
        IF(
          COALESCE((
            `t0`.`status` = 'paid'
          ) OR (
            `t0`.`amount` < 0
          ), FALSE),
          `t0`.`amount`,
          CAST(NULL AS DOUBLE)
        ) AS `r_amount`,
        IF(
          COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
            `t0`.`amount` >= 0
          ), FALSE),
          COALESCE(0.0, 0.0),
          CAST(NULL AS DOUBLE)
        ) AS `p_discount`,
        IF(
          COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
            `t0`.`amount` >= 0
          ), FALSE),
          `t0`.`ordered_at`,
          CAST(NULL AS TIMESTAMP)
        ) AS `p_time`
      FROM `orders` AS `t0`
      WHERE
        `t0`.`customer_id` IS NOT NULL
        AND `t0`.`ordered_at` <= CAST('2024-03-01T00:00:00' AS TIMESTAMP)
    ) AS `t2`
    GROUP BY
      1
  ) AS `t8`
  LEFT OUTER JOIN (
    SELECT
      `t4`.`customer_id`,
      COUNT(*) AS `frequency`,
      AVG(`t4`.`gap`) AS `ipt_mean`,
      STDDEV_SAMP(`t4`.`gap`) AS `ipt_std`
    FROM (
      SELECT
        `t3`.`customer_id`,
        `t3`.`order_id`,
        `t3`.`start`,
        CAST(UNIX_TIMESTAMP(CAST(`t3`.`start` AS TIMESTAMP)) - UNIX_TIMESTAMP(
          CAST(LAG(`t3`.`start`) OVER (PARTITION BY `t3`.`customer_id` ORDER BY `t3`.`start` ASC NULLS LAST) AS TIMESTAMP)
        ) AS DOUBLE) / 86400 AS `gap`
      FROM (
        SELECT
          `t1`.`customer_id`,
          `t1`.`order_id`,
          MIN(`t1`.`ordered_at`) AS `start`
        FROM (
          SELECT
            `t0`.`customer_id`,
            `t0`.`order_id`,
            `t0`.`ordered_at`,
            `t0`.`amount`,
            `t0`.`status`,
            0.0 AS `discount`,
            FALSE AS `returned`,
            `t0`.`category`
          FROM `orders` AS `t0`
          WHERE
            `t0`.`customer_id` IS NOT NULL
            AND `t0`.`ordered_at` <= CAST('2024-03-01T00:00:00' AS TIMESTAMP)
            AND COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
              `t0`.`amount` >= 0
            ), FALSE)
            AND `t0`.`order_id` IS NOT NULL
        ) AS `t1`
        GROUP BY
          1,
          2
      ) AS `t3`
    ) AS `t4`
    GROUP BY
      1
  ) AS `t6`
    ON `t8`.`customer_id` = `t6`.`customer_id`
) AS `t9`
ORDER BY
  `t9`.`customer_id` ASC NULLS LAST
